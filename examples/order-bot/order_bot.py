#!/usr/bin/env python3
"""Order-status bot for Consult's Counsel API (Python 3 standard library only).

Receives signed webhooks (Standard Webhooks 1.0), answers a visitor's order question through the
REST API as the bot, and hands the chat to the `orders` agents when the visitor asks for a person.

  CONSULT_URL=http://127.0.0.1:8080 CONSULT_API_KEY=ck_... CONSULT_WEBHOOK_SECRET=whsec_... \
  ORDER_BOT_PORT=8090 python3 order_bot.py
"""
import base64, hashlib, hmac, json, os, queue, re, threading, time, urllib.error, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GATEWAY = os.environ.get("CONSULT_URL", "http://127.0.0.1:8080").rstrip("/")
API_KEY = os.environ["CONSULT_API_KEY"]
SECRETS = [base64.b64decode(s.removeprefix("whsec_")) for s in os.environ["CONSULT_WEBHOOK_SECRET"].split()]
PORT = int(os.environ.get("ORDER_BOT_PORT", "8090"))
ORDERS = {"1234": "shipped; it arrives tomorrow", "5678": "being packed; it ships today", "4242": "delivered yesterday"}
PERSON = ("agent", "person", "human", "상담원", "사람")


def log(line):
    try:
        print(f"order-bot: {line}", flush=True)
    except OSError:  # nobody reads our output any more
        pass


def verify(headers, body):
    """True when one of the webhook-signature entries matches and the timestamp is fresh."""
    msg_id, ts, sigs = headers.get("webhook-id", ""), headers.get("webhook-timestamp", ""), headers.get("webhook-signature", "")
    if not ts.isdigit() or abs(time.time() - int(ts)) > 300:
        return False
    signed = f"{msg_id}.{ts}.".encode() + body
    expected = [base64.b64encode(hmac.new(k, signed, hashlib.sha256).digest()).decode() for k in SECRETS]
    given = [s.split(",", 1)[1] for s in sigs.split() if s.startswith("v1,")]
    return any(hmac.compare_digest(g, e) for g in given for e in expected)


def api(method, path, body=None):
    req = urllib.request.Request(GATEWAY + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


not_ours = set()  # sessions the gateway said are not with this bot (an agent has them, or the menu)


def handle(event, delivery_id):
    data = event.get("data", {})
    msg = data.get("message", {})
    if event.get("type") != "message.created" or msg.get("sender", {}).get("role") != "visitor" or data["session"] in not_ours:
        return
    session, text = data["session"], msg.get("body", {}).get("text", "")
    reply = lambda t: api("POST", f"/v1/counsel/sessions/{session}/messages",
                          {"client_id": f"order-bot-{delivery_id}", "sender": "bot", "body": {"kind": "text", "text": t}})
    number = re.search(r"\d{4,}", text)
    if any(w in text.lower() for w in PERSON):
        what, (status, _) = "handover", reply("Connecting you to our orders team. · 주문 담당 상담원에게 연결해 드릴게요.")
        if status == 200:
            status, _ = api("POST", f"/v1/counsel/sessions/{session}/handover", {"category": "orders"})
    elif number:
        state = ORDERS.get(number.group(), "being prepared")
        what, (status, _) = f"order {number.group()}", reply(f"Order {number.group()} is {state}. Type 'agent' to talk to our orders team.")
    else:
        what, (status, _) = "hint", reply("Send me your order number (try 1234) and I'll look it up, or type 'agent' to talk to our orders team.")
    if status == 409:
        not_ours.add(session)
        what += " (not with this bot; ignored from now on)"
    log(f"{session} {what} -> {status}")


jobs = queue.Queue()  # one worker: replies go out in the order the webhooks came


def worker():
    while True:
        event, delivery_id = jobs.get()
        try:
            handle(event, delivery_id)
        except Exception as e:  # keep serving; the gateway falls back to the queue if we stay silent
            log(repr(e))


class Hook(BaseHTTPRequestHandler):
    seen = set()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if not verify(self.headers, body):
            self.send_response(401), self.end_headers()
            return
        self.send_response(204), self.end_headers()
        if self.headers["webhook-id"] not in Hook.seen:  # retries keep their id: act once
            Hook.seen.add(self.headers["webhook-id"])
            jobs.put((json.loads(body), self.headers["webhook-id"]))

    def log_message(self, *args):
        pass


def orphaned(parent=os.getppid()):
    """Ends with whoever started it (e.g. `consult demo`), even when that was killed."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


if __name__ == "__main__":
    threading.Thread(target=worker, daemon=True).start()
    threading.Thread(target=orphaned, daemon=True).start()
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Hook)
    print(f"order-bot: listening on http://127.0.0.1:{server.server_port}/webhook", flush=True)
    server.serve_forever()
