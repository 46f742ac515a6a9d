;; big_memory: declares an initial linear memory of 20000 pages
;; (20000 x 64 KiB = 1,310,720,000 bytes = 1.22 GiB, "1.25 GiB" in round
;; numbers) and a _start that writes its last byte and returns. For the
;; host's memory limit: over the limit it must fail to instantiate with a
;; clear error; under it, exit 0.
(module
  (memory (export "memory") 20000)
  (func $_start (export "_start")
    (i32.store8 (i32.const 1310719999) (i32.const 1))))
