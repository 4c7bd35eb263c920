-- wrk script: GET /fhir/Observation?patient=X&code=SYSTEM|CODE with (X, code)
-- pairs drawn at random from a file.
--   wrk -s search.lua URL -- PAIRS_FILE TOKEN
-- PAIRS_FILE has "patient_id code" per line (LOINC codes). Non-200 answers
-- and searches that found nothing are counted and reported by done().
local pairs_ = {}
local threads = {}
errors = 0
empty = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    local pid, code = line:match("^(%S+)%s+(%S+)$")
    if pid then pairs_[#pairs_ + 1] = {pid, code} end
  end
  wrk.headers["Authorization"] = "Bearer " .. args[2]
  wrk.headers["Accept"] = "application/fhir+json"
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)
end

function request()
  local p = pairs_[math.random(#pairs_)]
  return wrk.format("GET", "/fhir/Observation?patient=" .. p[1] ..
                    "&code=http://loinc.org%7C" .. p[2])
end

function response(status, headers, body)
  if status ~= 200 then
    errors = errors + 1
  elseif not body:find('"total":%s*[1-9]') then
    empty = empty + 1
  end
end

function done(summary, latency, requests)
  local e, z = 0, 0
  for _, t in ipairs(threads) do
    e = e + (t:get("errors") or 0)
    z = z + (t:get("empty") or 0)
  end
  io.write(string.format("non-200 responses: %d\nempty results: %d\n", e, z))
end
