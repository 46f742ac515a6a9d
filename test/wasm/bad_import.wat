;; bad_import: imports env.foo, which no WASI host provides. A host must
;; refuse to instantiate it, with an error naming the import "env" "foo".
(module
  (import "env" "foo" (func $foo))
  (memory (export "memory") 1)
  (func $_start (export "_start")
    call $foo))
