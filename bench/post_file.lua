-- wrk script: POST the file named after `--` as the raw body of every request
-- (`wrk ... -s bench/post_file.lua URL -- FILE CONTENT_TYPE`); reports non-2xx answers.
function init(args)
  local file = assert(io.open(args[1], "rb"))
  wrk.method = "POST"
  wrk.body = file:read("*a")
  file:close()
  wrk.headers["Content-Type"] = args[2] or "application/octet-stream"
end

function done(summary, latency, requests)
  io.write(string.format("non-2xx answers: %d, socket errors: %d\n", summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
