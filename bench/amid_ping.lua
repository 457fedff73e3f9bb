-- wrk script for bench/amid_bench.py: POST a Ping to amid's REST action
-- endpoint. The bearer token comes from the environment, never argv.
wrk.method = "POST"
wrk.body = '{"Action":"Ping"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("AMID_BENCH_TOKEN")
