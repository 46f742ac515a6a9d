;; no_start: a valid module that exports a memory but no _start function.
;; A host must refuse to run it as a command, with an error naming _start.
(module
  (memory (export "memory") 1))
