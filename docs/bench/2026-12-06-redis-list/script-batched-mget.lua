local cursor, walking = ARGV[1], ARGV[4] == '1'
local most_scans, enough = tonumber(ARGV[5]), tonumber(ARGV[6])
local keys, found = {}, {}
for i = 9, #ARGV do keys[#keys + 1] = ARGV[i] end
local scans = 0
while walking and scans < most_scans and #keys < enough do
  local reply = redis.call('SCAN', cursor, 'MATCH', ARGV[2], 'COUNT', ARGV[3])
  cursor, scans = reply[1], scans + 1
  walking = cursor ~= '0'
  for _, key in ipairs(reply[2]) do
    keys[#keys + 1] = key
    found[#found + 1] = key
  end
end
local values, pttls, bytes, budget = {}, {}, 0, tonumber(ARGV[7])
local with_ttls = ARGV[8] == '1'
local i = 1
while i <= #keys and bytes < budget do
  local last = math.min(i + 99, #keys)
  local batch = redis.call('MGET', unpack(keys, i, last))
  for j, value in ipairs(batch) do
    local key = keys[i + j - 1]
    local pttl = -2
    if value then
      bytes = bytes + #value
      if with_ttls then pttl = redis.call('PTTL', key) end
    else
      local kind = redis.call('TYPE', key)['ok']
      if kind ~= 'none' then value = {kind} end
    end
    values[i + j - 1] = value
    if with_ttls then pttls[i + j - 1] = pttl end
  end
  i = last + 1
end
return {cursor, walking and 1 or 0, found, values, pttls}
