#!/usr/bin/env python3
"""Sends one message with Python's smtplib, for protolab's interop tests against `smtp serve`.

    python3 smtplib_send.py --port PORT --cafile CERT.pem --user U --password P \
                            --mechanism PLAIN|LOGIN --attachment-size N --out SENT.eml

STARTTLS (certificate checked against CERT.pem), then AUTH with the given mechanism (LOGIN goes
with its initial response, as smtplib does), then a MIME message with a text part whose lines
start with dots and a binary attachment of N deterministic bytes. The exact message bytes are
written to SENT.eml so the test can compare them with what the sink stored.
"""
import argparse
import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--mechanism", default="PLAIN")
    parser.add_argument("--attachment-size", type=int, default=1000)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    message = EmailMessage(policy=SMTP)
    message["From"] = "Alice <alice@example.org>"
    message["To"] = "bob@example.org"
    message["Subject"] = "smtplib interop, Grüße"
    message.set_content(".leading dot\n..two dots\n.\nlast line\n")
    data = bytes((i * 7 + 3) % 256 for i in range(args.attachment_size))
    message.add_attachment(data, maintype="application", subtype="octet-stream", filename="data.bin")
    raw = message.as_bytes()
    with open(args.out, "wb") as f:
        f.write(raw)

    context = ssl.create_default_context(cafile=args.cafile)
    with smtplib.SMTP("127.0.0.1", args.port, timeout=30) as smtp:
        smtp.starttls(context=context)
        smtp.ehlo()
        mechanism = args.mechanism.upper()
        smtp.user, smtp.password = args.user, args.password
        method = smtp.auth_plain if mechanism == "PLAIN" else smtp.auth_login
        code, reply = smtp.auth(mechanism, method, initial_response_ok=True)
        print(f"auth {code} {reply.decode()}")
        refused = smtp.sendmail("alice@example.org", ["bob@example.org"], raw)
        print(f"refused {refused}")


if __name__ == "__main__":
    main()
