"""Telephone dial-in: a SIP user agent server (UDP) answering with G.711 and RFC 4733 DTMF.

`sip` parses and serialises SIP messages, `sdp` negotiates the audio, `rtp` carries it,
`gateway` runs the asyncio server and hands each answered call (`call`) to a `CallHandler`;
`transport` owns its UDP and TCP sockets, `transactions` its retransmission rules.
"""
