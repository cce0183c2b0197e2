"""SIP parsing: valid messages in their variants, and garbage that must become SipError."""

from __future__ import annotations

import random

import pytest

from antenne.telephony.sdp import SdpError, build_answer, parse_offer
from antenne.telephony.sip import SipError, build_response, parse_message, uri_user

INVITE = (
    b"INVITE sip:antenne@127.0.0.1 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-1;rport\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-0\r\n"
    b'From: "Ann" <sip:0612345678@127.0.0.1>;tag=abc\r\n'
    b"To: <sip:antenne@127.0.0.1>\r\n"
    b"Call-ID: call-1@127.0.0.1\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Contact: <sip:0612345678@127.0.0.1:5062>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 4\r\n"
    b"\r\n"
    b"v=0\n"
)


def test_parses_a_request_with_its_headers_and_body():
    message = parse_message(INVITE)
    assert message.method == "INVITE"
    assert message.uri == "sip:antenne@127.0.0.1"
    assert message.call_id == "call-1@127.0.0.1"
    assert message.cseq == (1, "INVITE")
    assert message.branch == "z9hG4bK-1"
    assert len(message.get_all("via")) == 2
    assert message.body == b"v=0\n"
    assert uri_user(message.get("From") or "") == "0612345678"


def test_compact_header_forms_and_folding_are_understood():
    data = (
        b"OPTIONS sip:x@h SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK-2\r\n"
        b"f: <sip:a@h>;tag=1\r\nt: <sip:x@h>\r\ni: compact-1\r\n"
        b"CSeq: 7\r\n OPTIONS\r\nl: 0\r\n\r\n"
    )
    message = parse_message(data)
    assert message.call_id == "compact-1"
    assert message.cseq == (7, "OPTIONS")
    assert message.get("Content-Length") == "0"


def test_body_past_content_length_is_discarded_and_a_short_body_is_refused():
    assert parse_message(INVITE + b"extra").body == b"v=0\n"
    with pytest.raises(SipError, match="shorter"):
        parse_message(INVITE.replace(b"Content-Length: 4", b"Content-Length: 40"))


@pytest.mark.parametrize(
    ("mutation", "answerable"),
    [
        ((b"Call-ID: call-1@127.0.0.1\r\n", b""), True),
        ((b"CSeq: 1 INVITE", b"CSeq: 1 BYE"), True),
        ((b"CSeq: 1 INVITE", b"CSeq: 99999999999 INVITE"), True),
        ((b"Content-Length: 4", b"Content-Length: -4"), True),
        ((b"Content-Length: 4", b"Content-Length: 4\r\nContent-Length: 4"), True),
        ((b"Contact:", b"Con tact:"), True),
        ((b"SIP/2.0\r\nVia", b"SIP/3.0\r\nVia"), True),
        ((b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-0\r\n", b"Via: \r\n"), True),
        (
            (
                b"Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-1;rport\r\n"
                b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-0\r\n",
                b"",
            ),
            False,
        ),
        ((b"INVITE sip:", b"INVITE  sip:"), False),
        ((b"INVITE sip:antenne@127.0.0.1", b"invite sip:antenne@127.0.0.1"), False),
        ((b"sip:antenne@127.0.0.1 SIP", b"antenne SIP"), False),
        ((b"\r\n\r\n", b"\r\n"), False),
        ((b"Ann", b"\xff\xfe"), False),
    ],
)
def test_malformed_messages_raise_sip_error_answerable_only_when_addressable(mutation, answerable):
    data = INVITE.replace(*mutation)
    with pytest.raises(SipError) as raised:
        parse_message(data)
    partial = raised.value.partial
    if answerable and b"Via" in data:
        assert partial is not None
        response = build_response(partial, raised.value.status).to_bytes()
        assert response.startswith((b"SIP/2.0 400", b"SIP/2.0 505"))
        assert b"branch=z9hG4bK-1" in response
    else:
        assert partial is None


def test_version_mismatch_gets_505():
    with pytest.raises(SipError) as raised:
        parse_message(INVITE.replace(b"SIP/2.0\r\nVia", b"SIP/3.0\r\nVia"))
    assert raised.value.status == 505


def test_responses_and_acks_are_never_answerable():
    response = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK-3\r\n\r\n"
    with pytest.raises(SipError) as raised:
        parse_message(response)  # missing From/To/Call-ID/CSeq
    assert raised.value.partial is None
    ack = INVITE.replace(b"INVITE sip", b"ACK sip").replace(b"1 INVITE", b"1 ACK")
    with pytest.raises(SipError) as raised:
        parse_message(ack.replace(b"Call-ID: call-1@127.0.0.1\r\n", b""))
    assert raised.value.partial is None


def test_size_limits():
    with pytest.raises(SipError, match="too large"):
        parse_message(INVITE + b"x" * 70_000)
    many = INVITE.replace(b"\r\n\r\n", b"\r\n" + b"X-A: b\r\n" * 200 + b"\r\n")
    with pytest.raises(SipError, match="too many headers"):
        parse_message(many)


def test_random_garbage_only_ever_raises_sip_error():
    rng = random.Random(4733)
    for _ in range(3000):
        choice = rng.random()
        if choice < 0.3:
            data = rng.randbytes(rng.randrange(0, 600))
        elif choice < 0.7:  # a valid message with bytes flipped
            data = bytearray(INVITE)
            for _ in range(rng.randrange(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            data = bytes(data)
        else:  # a valid message cut short, or with lines shuffled
            lines = INVITE.split(b"\r\n")
            rng.shuffle(lines)
            data = b"\r\n".join(lines) if rng.random() < 0.5 else INVITE[: rng.randrange(200)]
        try:
            message = parse_message(data)
        except SipError:
            continue
        assert message.to_bytes()  # whatever parses serialises again


def test_response_copies_transaction_headers_and_adds_our_tag():
    request = parse_message(INVITE)
    response = parse_message(build_response(request, 200, to_tag="mytag", body=b"x").to_bytes())
    assert response.status == 200
    assert response.get_all("Via") == request.get_all("Via")
    assert response.get("To") == "<sip:antenne@127.0.0.1>;tag=mytag"
    assert response.cseq == (1, "INVITE")
    assert response.body == b"x"


OFFER = (
    b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
    b"m=video 5000 RTP/AVP 96\r\n"
    b"m=audio 4000 RTP/AVP 9 8 0 101\r\na=rtpmap:9 G722/8000\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"
)


def test_sdp_offer_picks_the_callers_first_g711_and_telephone_event():
    offer = parse_offer(OFFER)
    assert (offer.host, offer.port, offer.codec, offer.payload_type) == (
        "192.0.2.1",
        4000,
        "PCMA",
        8,
    )
    assert offer.dtmf_payload_type == 101
    answer = build_answer(offer, host="127.0.0.1", port=6000).decode()
    assert "m=audio 6000 RTP/AVP 8 101\r\n" in answer
    assert "a=rtpmap:8 PCMA/8000" in answer
    assert "a=fmtp:101 0-15" in answer
    assert parse_offer(answer.encode()).port == 6000


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"garbage",
        OFFER.replace(b"9 8 0 101", b"9 101"),
        OFFER.replace(b"c=IN IP4 192.0.2.1", b"c=IN IP4 example.org"),
        OFFER.replace(b"RTP/AVP 9", b"RTP/SAVP 9"),
        OFFER.replace(b"m=audio 4000", b"m=audio 0"),
        b"\xff\xfe",
    ],
)
def test_sdp_offers_without_usable_g711_are_refused(body):
    with pytest.raises(SdpError):
        parse_offer(body)
