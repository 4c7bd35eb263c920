-- wrk script: GET /fhir/<Type>/<id> for ids drawn at random from a file.
--   wrk -s read.lua URL -- IDS_FILE TOKEN
-- IDS_FILE has one "Type/id" per line. Non-200 answers are counted and
-- reported by done() (a benchmark of 404s would be meaningless).
local ids = {}
local token = nil
local threads = {}
errors = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then ids[#ids + 1] = line end
  end
  token = args[2]
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Accept"] = "application/fhir+json"
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)
end

function request()
  return wrk.format("GET", "/fhir/" .. ids[math.random(#ids)])
end

function response(status, headers, body)
  if status ~= 200 then errors = errors + 1 end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + (t:get("errors") or 0) end
  io.write(string.format("non-200 responses: %d\n", total))
end
