"""Small parts of the dashboard state, one concern each (see explorer/dashboard/state.py)."""
