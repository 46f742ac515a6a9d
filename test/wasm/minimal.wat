;; minimal: prints "minimal\n" with one direct call to
;; wasi_snapshot_preview1.fd_write and returns from _start (exit status 0).
;; No C library involved.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; the text at 16, its iovec (pointer, length) at 0
  (data (i32.const 0) "\10\00\00\00\08\00\00\00")
  (data (i32.const 16) "minimal\n")
  (func $_start (export "_start")
    ;; fd 1, 1 iovec at 0, bytes written stored at 8
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
