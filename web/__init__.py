"""Web: the pages a member sees, from the start page and login to the dashboard."""
