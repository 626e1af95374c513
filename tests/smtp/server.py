"""A real SMTP server on loopback for warren's mail tests (aiosmtpd from PyPI).

Usage: server.py PORT. Prints {"port": PORT} once it accepts connections, then one JSON line per
message received: {"to": [...], "subject", "message_id", "text", "html"}, each part decoded.
Runs until killed.
"""

import email
import json
import sys
import threading
from email import policy

from aiosmtpd.controller import Controller


class Handler:
    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        print(
            json.dumps(
                {
                    "to": envelope.rcpt_tos,
                    "subject": str(message["subject"]),
                    "message_id": str(message["message-id"]),
                    "text": text.get_content() if text else None,
                    "html": html.get_content() if html else None,
                }
            ),
            flush=True,
        )
        return "250 Message accepted for delivery"


def main():
    port = int(sys.argv[1])
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    print(json.dumps({"port": port}), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
