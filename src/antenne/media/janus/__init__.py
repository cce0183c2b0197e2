"""The Janus media engine: Antenne's rooms as VideoRoom rooms on one or more Janus servers.

- `client`: Janus's HTTP API (sessions, handles, long-polled events, keep-alives);
- `engine`: `JanusEngine`, the `MediaEngine` of `ANTENNE_MEDIA_ENGINE=janus`;
- `events` and `views`: what Janus's event handler posts to `/media/janus/events`;
- `config`: the hardened configuration `antenne janus-config` writes (`render_config`).

See docs/janus.md for running it in production.
"""

from antenne.media.janus.config import render_config

__all__ = ["render_config"]
