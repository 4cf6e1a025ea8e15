"""Public pages every citizen sees: home, privacy notice, accessibility statement; health."""
