# tests/lib/gbtest/ledger.py: what the clients of a test were told, under
# one lock (tests/crash.test, tests/repl.test).  Each message is entered
# when it is sent, with every place it may end up (ABSENT too: no answer
# yet), and settled when an answer says where it is: a positive answer
# (acked) puts it in one place, a negative one leaves it ABSENT, and a
# command cut short leaves it unsettled, allowed in either.  census()
# then holds what a store shows against that.

import random
import threading

# The place of a message that is nowhere.
ABSENT = None


class Ledger:
    """What the clients were told, under one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.msgs = {}          # msgid -> record
        self.seen = {}          # (account, mailbox) -> set of UIDs
        self.uidvalidity = {}   # (account, mailbox) -> UIDVALIDITY
        self.problems = []
        self.counts = {}

    def count(self, what):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1

    def problem(self, text):
        with self.lock:
            self.problems.append(text)

    def new(self, msgid, account, kind, where):
        """Sent, answer not yet known: where it may end up (ABSENT too)."""
        with self.lock:
            self.msgs[msgid] = {"account": account, "kind": kind,
                                "where": set(where) | {ABSENT},
                                "uid": None, "flagged": None,
                                "acked": False, "settled": False}

    def settle(self, msgid, where, uid=None, acked=None):
        with self.lock:
            m = self.msgs[msgid]
            m["where"] = set(where)
            m["uid"] = uid
            m["settled"] = True
            if acked is not None:
                m["acked"] = acked

    def unsettle(self, msgid, also):
        """A command without an answer: also possible now."""
        with self.lock:
            m = self.msgs[msgid]
            m["where"] |= set(also)
            m["uid"] = None
            m["settled"] = False
            m["flagged"] = None

    def max_uid(self, account, mailbox):
        with self.lock:
            s = self.seen.get((account, mailbox))
            return max(s) if s else 0

    def new_uid(self, account, mailbox, uidvalidity, uid, before, what):
        """A UID the server just gave; before is max_uid() when sent."""
        with self.lock:
            key = (account, mailbox)
            self._uidvalidity(key, uidvalidity, what)
            s = self.seen.setdefault(key, set())
            if uid <= before or uid in s:
                self.problems.append(
                    "%s %s: %s gave UID %d, but UID %d was seen before "
                    "it was sent (or it was given before)" % (
                        account, mailbox, what, uid, before))
            s.add(uid)

    def _uidvalidity(self, key, uv, what):
        old = self.uidvalidity.setdefault(key, uv)
        if old != uv:
            self.problems.append("%s %s: UIDVALIDITY %d became %d (%s)" % (
                key[0], key[1], old, uv, what))

    def check_uidnext(self, account, mailbox, uidvalidity, uidnext, what):
        with self.lock:
            key = (account, mailbox)
            self._uidvalidity(key, uidvalidity, what)
            s = self.seen.get(key)
            if s and uidnext <= max(s):
                self.problems.append(
                    "%s %s: UIDNEXT %d at %s, but UID %d was given" % (
                        account, mailbox, uidnext, what, max(s)))

    def pick(self, account, mailbox, kind):
        """A settled message of ours in mailbox, or None."""
        with self.lock:
            c = [k for k, m in self.msgs.items() if m["account"] == account
                 and m["kind"] == kind and m["settled"] and
                 m["where"] == {mailbox} and m["uid"] is not None]
            return random.choice(c) if c else None

    def census(self, found, t, where="there"):
        """found: key -> list of the copies a store has (anything).
        Checks with the Checker t that no message is there twice, that
        every message whose places do not include ABSENT is there, and
        that nothing is there that no client sent.  Returns the number
        of acknowledged messages there once, and (key, record, copy) for
        every message there once, for the caller's own checks."""
        nacked, once = 0, []
        for key, m in sorted(self.msgs.items(), key=lambda kv: str(kv[0])):
            copies = found.get(key, [])
            if len(copies) > 1:
                t.ok(False, "%s (%s) is %s once" % (key, m["kind"], where),
                     copies)
                continue
            if not copies:
                if ABSENT not in m["where"]:
                    t.ok(False, "%s (%s, acknowledged) is %s" % (
                        key, m["kind"], where), m)
                continue
            if m["acked"]:
                nacked += 1
            once.append((key, m, copies[0]))
        unknown = [k for k in found if k not in self.msgs]
        t.eq(unknown, [], "no message %s that no client sent" % where)
        return nacked, once
