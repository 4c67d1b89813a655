-- wrk script: pipelines DEPTH requests (default 16) per write on each
-- connection. Usage: wrk -s scripts/wrk-pipeline.lua URL -- DEPTH
-- wrk counts every response, so requests/sec is per request.
local depth = 16
local req

init = function(args)
  if args[1] ~= nil then
    depth = tonumber(args[1])
  end
  local r = {}
  for i = 1, depth do
    r[i] = wrk.format(nil)
  end
  req = table.concat(r)
end

request = function()
  return req
end
