"""The web application's pages (`pages`) and what every answer carries (`security`)."""
