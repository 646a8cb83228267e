"""What a console page costs to render: the median (and 90th percentile) wall time of N requests to
each main page, signed in as the demo login that uses it, against a running `huifang demo`.

    python3 scripts/console_render_times.py http://127.0.0.1:8080 demo.log [N]

demo.log is what `huifang demo` printed (its table of logins). Each page is requested once to warm
up, then N times in a row; the times include the request's round trip on the local machine.
"""
import http.cookiejar
import re
import statistics
import sys
import time
import urllib.parse
import urllib.request

base, log = sys.argv[1], sys.argv[2]
count = int(sys.argv[3]) if len(sys.argv) > 3 else 20
logins = {}
for line in open(log, encoding="utf-8"):
    parts = line.split()
    if len(parts) >= 2 and re.fullmatch(r"[a-z_]+", parts[1]) and parts[1] not in logins:
        logins[parts[1]] = parts[0]


def session(role):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/console/sign-in").read().decode()
    token = re.search(r'name="_csrf" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"_csrf": token, "employeeNo": logins[role], "password": "huifang-demo", "next": "/console"})
    opener.open(base + "/console/sign-in", form.encode()).read()
    return opener


def first_link(opener, path, pattern):
    page = opener.open(base + path).read().decode()
    found = re.search(pattern, page)
    return found.group(0) if found else None


pages = {
    "responsible_person": ["/console", "/console/tasks?mine=1", "/console/records"],
    "ops_director": ["/console", "/console/records?state=submitted"],
    "brokerage_ops_center": ["/console", "/console/problems"],
    "functional_dept": ["/console/forwardings"],
    "auditor": ["/console/monitoring", "/console/monitoring/sla", "/console/monitoring/uploads", "/console/monitoring/coverage",
                "/console/clients", "/console/audit"],
}
print(f"{'page':48} {'role':22} {'median ms':>10} {'p90 ms':>8} {'KiB':>6}")
for role, paths in pages.items():
    opener = session(role)
    if role == "responsible_person":
        paths = paths + [p for p in (first_link(opener, "/console/tasks?mine=1", r"/console/tasks/\d+"),
                                      first_link(opener, "/console/records", r"/console/records/\d+")) if p]
    if role == "brokerage_ops_center":
        paths = paths + [p for p in (first_link(opener, "/console/problems", r"/console/problems/\d+"),) if p]
    for path in paths:
        body = opener.open(base + path).read()
        times = []
        for _ in range(count):
            start = time.perf_counter()
            opener.open(base + path).read()
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p90 = times[int(0.9 * (len(times) - 1))]
        print(f"{path:48} {role:22} {statistics.median(times):10.1f} {p90:8.1f} {len(body) / 1024:6.0f}")
