"""Computer-telephony integration: call and agent events for the agent desktop and the bank's
systems (docs/cti.md). ``feed`` follows the ACD on the loop thread, ``pop`` builds the screen
pop, ``webhooks`` delivers events to the integrations' URLs off the loop."""

from branchline.firmware.cti.feed import CtiEvent, CtiFeed
from branchline.firmware.cti.pop import CallerHistory, screen_pop
from branchline.firmware.cti.webhooks import WebhookSender, WebhookTarget

__all__ = ["CallerHistory", "CtiEvent", "CtiFeed", "WebhookSender", "WebhookTarget",
           "screen_pop"]
