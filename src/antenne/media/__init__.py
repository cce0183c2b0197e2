"""Media: one engine interface (engine.py), two engines (embedded.py, janus/), and
the control plane (signaling.py, views.py)."""
