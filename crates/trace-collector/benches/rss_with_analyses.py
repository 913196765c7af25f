# Fills a running collector with distinct 40-span demo-shaped traces, then
# reads its resident memory before and after calling the analysis endpoints.
# usage: python3 rss_with_analyses.py <collector pid> <port> <traces to post>
import http.client, json, sys, time, os
pid, port, traces = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def rss():
    st = dict(l.split(':', 1) for l in open(f'/proc/{pid}/status') if ':' in l)
    return st['VmRSS'].strip(), st['VmHWM'].strip()
conn = http.client.HTTPConnection('127.0.0.1', port)
now = int(time.time() * 1e6)
names = ["sqrt.batch", "sqrt.memo", "sqrt.lookup", "meta_get"]
for t in range(traces):
    tid = f"{t + 1:032x}"
    spans = []
    for n in range(40):
        client = n % 4 == 3
        s = {"traceId": tid, "id": f"{t * 100 + n + 1:016x}", "name": names[n % 4],
             "timestamp": now - (traces - t) * 1000 + n * 50, "duration": 100 + (t * 7 + n * 13) % 2000,
             "localEndpoint": {"serviceName": "sqrt-demo"},
             "tags": {"code.module.name": "sqrt_memo::engine", "sqrt.digits": "10"}}
        if n:
            s["parentId"] = f"{t * 100 + (n - 1) // 4 * 4 + 1:016x}"
        if client:
            s["kind"] = "CLIENT"
            s["tags"]["db.system.name"] = "memcached"
            if (t + n) % 17 == 0:
                s["tags"]["error"] = "timeout"
        spans.append(s)
    conn.request("POST", "/api/v2/spans", json.dumps(spans), {"content-type": "application/json"})
    r = conn.getresponse(); r.read()
    assert r.status == 202, r.status
conn.request("GET", "/api/collector/stats"); print("stats", conn.getresponse().read().decode())
print("after fill: VmRSS %s, VmHWM %s" % rss())
end = int(time.time() * 1000) + 60000
paths = ["/api/v2/autocompleteValues?key=db.system", "/api/v2/dependencies?endTs=%d" % end, "/api/collector/operations"]
for round in range(20):
    for p in paths:
        conn.request("GET", p); r = conn.getresponse(); body = r.read()
        assert r.status == 200, (p, r.status)
conn.request("GET", paths[1]); print("dependencies:", conn.getresponse().read().decode())
print("after 60 analysis requests: VmRSS %s, VmHWM %s" % rss())
