"""The clerk's workspace: dashboard, the step-by-step report, autosave, import."""
