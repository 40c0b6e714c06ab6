"""The web application (issue 17): a backend-for-frontend that gives the people who do the
activity responsibility their pages, in Swedish, over the four services' public HTTP APIs."""
