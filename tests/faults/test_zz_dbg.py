import dreambolt_magic
from dreambolt_magic.regions import region_cache
from .proxy import Fault, Reply
from .test_faults import REDIRECTS, BUCKET, KEY, uri, body, frame  # noqa

def test_dbg(proxy, uri):
    proxy.add(Fault(REDIRECTS["PermanentRedirect"], times=None))
    try:
        dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=False, max_attempts=3)
    except Exception as e:
        print("\nEXC", repr(e), e.region, e.hints, e.attempts)
    for r in proxy.requests: print(r)
    proxy.clear(); region_cache.clear()
    proxy.add(Fault(REDIRECTS["PermanentRedirect"]))
    df = dreambolt_magic.load(uri, endpoint_url=proxy.endpoint_url, progress=False, max_attempts=3)
    print(df.attrs["s3"], region_cache._regions)
    for r in proxy.requests: print(r)
