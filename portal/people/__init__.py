"""The people an intake is about: contact details, channels, and finding them again."""
