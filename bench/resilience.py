"""Findings 1 and 6 of the resilience audit, against a release `warren serve` with default
settings (rate limit on): lists nested seven levels deep, and four anonymous clients flooding
the largest introspection the limits admit while a signed-in client measures its latency.
BENCHMARKS.md ("Resilience") tells how to run it and what it measured.

    python3 bench/resilience.py URL TOKEN SERVER_PID
"""
import json, subprocess, sys, threading, time, urllib.request, statistics

URL = sys.argv[1]
TOKEN = sys.argv[2]
PID = int(sys.argv[3])

def rss_mb():
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024

def post(query, variables=None, token=None):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(URL, data=body, headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            data = r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        data = e.read(); status = e.code
    return status, len(data), json.loads(data), time.perf_counter() - t

# An app with 10 environments.
_, _, body, _ = post('{ viewer { apps(first: 1) { nodes { id name } } } }', token=TOKEN)
app = body["data"]["viewer"]["apps"]["nodes"][0]["id"]
for n in range(10):
    post('mutation($i: CreateEnvironmentInput!) { createEnvironment(input: $i) { environment { id } } }',
         {"i": {"appId": app, "name": f"audit-{n}"}}, TOKEN)

print(f"rss before: {rss_mb():.0f} MB")
nested = "query($id: ID!) { node(id: $id) { ... on App { " + "environments { app { " * 7 + "id name " + "} } " * 7 + "} } }"
t0 = time.time(); worst = 0
for _ in range(50):
    status, size, body, took = post(nested, {"id": app}, TOKEN)
    worst = max(worst, size)
print(f"finding 1: 50 x seven levels: status {status}, {body['errors'][0]['extensions']}, largest answer {worst} B, {time.time()-t0:.2f} s; rss {rss_mb():.0f} MB")
impact = "query($id: ID!) { node(id: $id) { ... on App { paymentMethod { " + "deletionImpact { apps { paymentMethod { " * 4 + "id " + "} } } " * 4 + "} } } }"
status, size, body, took = post(impact, {"id": app}, TOKEN)
print(f"finding 1: deletionImpact x4: status {status}, {size} B, errors {[e['extensions'] for e in body.get('errors', [])][:1]}; rss {rss_mb():.0f} MB")

# Finding 6: four anonymous clients sending the largest introspection the limits admit, while a
# signed-in client measures its latency.
types = "{ " + " ".join(f"s{i}: __schema {{ types {{ name fields {{ name args {{ name type {{ name ofType {{ name }} }} }} type {{ name ofType {{ name }} }} }} }} }}" for i in range(8)) + " }"
status, size, body, took = post(types)
print(f"finding 6: one large anonymous introspection: status {status}, {size} B, {took*1000:.0f} ms, {body.get('errors', [{}])[0].get('extensions') if 'errors' in body else 'answered'}")
def quiet():
    for _ in range(100):
        post('{ viewer { id } }', token=TOKEN)
quiet()
base = []
for _ in range(50):
    base.append(post('{ viewer { id } }', token=TOKEN)[3])
stop = False; counts = {"ok": 0, "refused": 0}
def flood():
    while not stop:
        s, _, _, _ = post(types)
        counts["ok" if s == 200 else "refused"] += 1
threads = [threading.Thread(target=flood) for _ in range(4)]
for t in threads: t.start()
loaded = []
t_end = time.time() + 20
while time.time() < t_end:
    loaded.append(post('{ viewer { id } }', token=TOKEN)[3])
stop = True
for t in threads: t.join()
print(f"finding 6: signed-in p50 {statistics.median(base)*1000:.1f} ms alone, {statistics.median(loaded)*1000:.1f} ms during 20 s of 4 anonymous floods ({counts['ok']} answered, {counts['refused']} refused); rss {rss_mb():.0f} MB")
