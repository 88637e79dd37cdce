"""Admin views of profiles and subprofiles."""
