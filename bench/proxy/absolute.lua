-- wrk script: every request in absolute-form, as a client configured to use a proxy sends it.
-- TARGET is the absolute URI (http://127.0.0.1:ORIGIN/1k.bin); UNIQUE=1 appends ?n=<counter>
-- so that every request is a different URI (a cache miss each time).
local target = os.getenv("TARGET")
local unique = os.getenv("UNIQUE") == "1"
local counter = 0
request = function()
  local uri = target
  if unique then
    counter = counter + 1
    uri = target .. "?n=" .. tostring(math.random(1, 1e9)) .. "-" .. counter
  end
  return wrk.format("GET", uri)
end
