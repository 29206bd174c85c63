-- wrk: a write mix against otto serve. Of every 10 requests, 8 read a host (GET /inv/webN) and 2 write one
-- (POST /inv/webN with a host document); N cycles over OTTO_BENCH_HOSTS hosts. Writes change the address, so every
-- write is a real change: validated, committed to SQLite and published.
local token = os.getenv("OTTO_BENCH_TOKEN")
local hosts = tonumber(os.getenv("OTTO_BENCH_HOSTS") or "100")
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("id", thread_id)
  thread_id = thread_id + 1
  table.insert(threads, thread)
end

function init(args)
  counter = id * 7919
end

function request()
  counter = counter + 1
  local n = counter % hosts
  local headers = { ["Authorization"] = "Bearer " .. token }
  if counter % 10 < 8 then
    return wrk.format("GET", "/inv/web" .. n, headers)
  end
  headers["Content-Type"] = "application/json"
  local body = string.format('{"address": "192.0.2.%d", "port": 22, "groups": ["web"], "vars": {"n": %d}}', counter % 250 + 1, counter)
  return wrk.format("POST", "/inv/web" .. n, headers, body)
end

function done(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("MIX errors=%d\n", bad))
end
