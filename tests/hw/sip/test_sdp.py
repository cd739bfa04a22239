"""SDP offer/answer: what we accept (PCMA, PCMU, telephone-event, ptime 10/20/30) and 488."""

import pytest

from branchline.hw.sip import SdpError
from branchline.hw.sip.sdp import Negotiated, Session, accept_answer, answer, offer

# The SDP an ordinary softphone offers: u-law first, A-law, GSM, telephone-event, and video.
PHONE = (b"v=0\r\no=alice 2890844526 2890844526 IN IP4 127.0.0.1\r\ns=-\r\n"
         b"c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
         b"m=audio 40000 RTP/AVP 0 8 3 101\r\na=rtpmap:101 telephone-event/8000\r\n"
         b"a=fmtp:101 0-16\r\na=ptime:30\r\n"
         b"m=video 40002 RTP/AVP 31\r\na=rtpmap:31 H261/90000\r\n")


def test_answer_picks_alaw_keeps_events_and_declines_video():
    ours, settled = answer(Session.parse(PHONE), "127.0.0.1", 30000, 7)
    assert settled == Negotiated("127.0.0.1", 40000, "PCMA", 8, 101, 30, "sendrecv")
    again = Session.parse(bytes(ours))
    assert [(m.kind, m.port) for m in again.media] == [("audio", 30000), ("video", 0)]
    assert again.media[0].formats == ("8", "101") and again.media[0].ptime == 30
    assert b"a=rtpmap:101 telephone-event/8000\r\n" in bytes(ours)


def test_answer_honours_a_preference_for_ulaw_and_mirrors_direction():
    held = PHONE.replace(b"a=ptime:30\r\n", b"a=sendonly\r\n")
    _, settled = answer(Session.parse(held), "127.0.0.1", 30000, 7, prefer=("PCMU", "PCMA"))
    assert (settled.codec, settled.payload_type, settled.ptime) == ("PCMU", 0, 20)
    assert settled.direction == "recvonly"


@pytest.mark.parametrize(("sdp", "error"), [
    (PHONE.replace(b"RTP/AVP 0 8 3 101", b"RTP/AVP 3 101"),
     "no audio stream offers PCMA or PCMU at 8000 Hz over RTP/AVP"),
    (PHONE.replace(b"a=ptime:30", b"a=ptime:40"), "ptime 40 ms is not one of (10, 20, 30)"),
    (PHONE.replace(b"m=audio 40000 RTP/AVP", b"m=audio 40000 RTP/SAVP"),
     "no audio stream offers PCMA or PCMU at 8000 Hz over RTP/AVP"),
])
def test_unacceptable_offers_get_488(sdp, error):
    with pytest.raises(SdpError) as caught:
        answer(Session.parse(sdp), "127.0.0.1", 30000, 7)
    assert (str(caught.value), caught.value.status) == (error, 488)


@pytest.mark.parametrize(("sdp", "error"), [
    (b"o=x 1 1 IN IP4 h\r\n", "a session description must start with v=0"),
    (b"v=0\r\ns=-\r\n", "a session description needs o= and s= lines"),
    (PHONE.replace(b"m=audio 40000", b"m=audio port"),
     "m= line 'audio port RTP/AVP 0 8 3 101': port 'port' is not a port number"),
    (PHONE.replace(b"c=IN IP4", b"c=IN"), "c= line 'IN 127.0.0.1' is not 'IN IP4 <address>'"),
    (PHONE + b"garbage\r\n", "SDP line 'garbage' is not 'x=value'"),
])
def test_malformed_descriptions_get_400(sdp, error):
    with pytest.raises(SdpError) as caught:
        Session.parse(sdp)
    assert (str(caught.value), caught.value.status) == (error, 400)


def test_our_offer_and_a_peers_answer_settle_the_call():
    ours = offer("127.0.0.1", 31000, 9, codecs=("PCMA", "PCMU"), ptime=20)
    theirs, _ = answer(Session.parse(bytes(ours)), "127.0.0.1", 41000, 3, prefer=("PCMU",))
    settled = accept_answer(ours, Session.parse(bytes(theirs)))
    assert settled == Negotiated("127.0.0.1", 41000, "PCMU", 0, 101, 20, "sendrecv")
    with pytest.raises(SdpError, match="ptime"):
        offer("127.0.0.1", 31000, 9, ptime=40)
