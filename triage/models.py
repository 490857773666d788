# Triage sessions, steps and outcomes arrive with the guided-triage issue.
