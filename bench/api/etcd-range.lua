-- wrk: the same read against etcd's v3 JSON gateway: POST /v3/kv/range {"key": base64("inv/web1")}.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"key": "' .. os.getenv("ETCD_BENCH_KEY") .. '"}'
