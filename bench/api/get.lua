-- wrk: GET one inventory host (the path comes from the URL given to wrk), with the bearer token from OTTO_BENCH_TOKEN.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("OTTO_BENCH_TOKEN")
