;; bigmem: grow linear memory to 1 GiB and touch every 4 KiB page of it.
;;
;; The "1 GiB linear memory" case of `npm run bench`: peak RSS should be
;; about 1 GiB plus the runtime's own baseline, never 2 GiB (a host that
;; copied or shadowed the guest's memory would show it here).
;;
;; It writes one byte per 4 KiB page (so that the kernel commits every page),
;; reads them all back, prints "bigmem: 262144 pages touched\n" and exits 0;
;; if the sum read back is wrong, it exits 1.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; iovec at 0 (ptr, len), nwritten at 8, message at 16.
  (data (i32.const 16) "bigmem: 262144 pages touched\n")
  (func (export "_start")
    (local $p i32)
    (local $sum i32)
    ;; 1 page (64 KiB) + 16383 more = 16384 pages = 1 GiB.
    (if (i32.eq (memory.grow (i32.const 16383)) (i32.const -1))
      (then (call $proc_exit (i32.const 2))))
    ;; Page 0 holds the message: start touching at 4 KiB.
    (local.set $p (i32.const 4096))
    (loop $touch
      (i32.store8 (local.get $p) (i32.const 1))
      (local.set $p (i32.add (local.get $p) (i32.const 4096)))
      (br_if $touch (i32.lt_u (local.get $p) (i32.const 0x40000000))))
    (local.set $p (i32.const 4096))
    (loop $check
      (local.set $sum (i32.add (local.get $sum) (i32.load8_u (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 4096)))
      (br_if $check (i32.lt_u (local.get $p) (i32.const 0x40000000))))
    ;; 262144 pages of 4 KiB, less page 0.
    (if (i32.ne (local.get $sum) (i32.const 262143))
      (then (call $proc_exit (i32.const 1))))
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 29))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $proc_exit (i32.const 0))))
