"""Staff: roles, the two-factor admin site, call-centre and case-worker tools."""
