"""outreach: the caseworker's contact work (kontaktförsök, sysselsättning) and worklists."""
