"""Staff accounts: login, roles, teams, and the access declaration every staff view carries."""
