-- Single upserts for wrk: every request is a POST of a body no other request sends.
--
--   wrk -t T -c C -d D -s bench/wrk_upserts.lua URL -- BODIES T COUNT
--
-- BODIES holds one JSON body per line, each a distinct event. Thread i takes lines i, i+T,
-- i+2T, ... (both counted from 0), so the threads never share a body. Its quota is its share of the
-- first COUNT lines; the lines after them are spares. wrk.format adds the -H headers.
--
-- delay() runs before every request() of a connection. It reserves a slot of the quota, and once
-- the quota is reserved it parks the connection, so a thread never sends more than its quota:
-- the server then stores exactly what was answered. request() is also called once by wrk itself to
-- check the script before the threads start (that request is never sent), and again after a
-- reconnect; those calls take spare lines, so no body is ever sent twice.
--
-- When a thread's quota has been answered it writes "wrk-thread-done" to stderr and stops. wrk's
-- main thread would otherwise sleep until -d; the benchmark interrupts it (SIGINT) once every
-- thread has written that line, so wrk's elapsed time ends with the last answer.
--
-- done() prints one line per thread: "upserts: thread I quota Q sent S answered A accepted K",
-- where accepted counts 202 answers.

local PARK_MS = 3600 * 1000 -- longer than any -d; the thread stops before it runs out
local ACCEPTED = 202

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local bodies = {}
quota, reserved, sent, answered, accepted = 0, 0, 0, 0, 0

function init(args)
  local path, thread_count, count = args[1], tonumber(args[2]), tonumber(args[3])
  local file = assert(io.open(path, "r"))
  local n = 0
  for line in file:lines() do
    if n % thread_count == id then
      table.insert(bodies, line)
      if n < count then
        quota = quota + 1
      end
    end
    n = n + 1
  end
  file:close()
end

function delay()
  if reserved >= quota then
    return PARK_MS
  end
  reserved = reserved + 1
  return 0
end

function request()
  if reserved == 0 then
    -- wrk's check of the script: never sent, so it may show any body
    return wrk.format("POST", nil, nil, bodies[1])
  end
  sent = sent + 1
  local body = bodies[sent]
  if body == nil then
    error("wrk_upserts.lua: thread " .. id .. " has no distinct body left")
  end
  return wrk.format("POST", nil, nil, body)
end

function response(status, headers, body)
  answered = answered + 1
  if status == ACCEPTED then
    accepted = accepted + 1
  end
  if answered == quota then
    io.stderr:write("wrk-thread-done\n")
    io.stderr:flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    io.write(
      string.format(
        "upserts: thread %d quota %d sent %d answered %d accepted %d\n",
        thread:get("id"),
        thread:get("quota"),
        thread:get("sent"),
        thread:get("answered"),
        thread:get("accepted")
      )
    )
  end
end
