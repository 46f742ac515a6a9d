/*
 * fs_escape: every way out of the preopened scratch directory must fail, and
 * a read-only preopen must refuse every change.
 *
 * Usage:  fs_escape.wasm            (read-write scratch dir, must start empty)
 *         fs_escape.wasm rw         (same)
 *         fs_escape.wasm seed       (read-write: put the files the "ro" run
 *                                    expects into the scratch dir, then stop)
 *         fs_escape.wasm ro [FILE]  (scratch dir preopened read-only; FILE is
 *                                    an existing file in it, by default the
 *                                    "ro_file.txt" that "seed" made; without
 *                                    one the checks on an existing file are
 *                                    skipped)
 *
 * The read-only test is two runs on the same directory: "seed" with it
 * read-write, then "ro" with it read-only. The harness compares the tree
 * before and after the "ro" run.
 *
 * Names the program tries to create outside the sandbox all start with
 * "donjon_escape_"; a harness should check that nothing of that name appears
 * in the parent of the scratch directory (or anywhere else) after the run.
 *
 * Errnos. Current wasmtime (cap-std underneath) reports every sandbox escape
 * as EPERM ("not permitted"), which is also what
 * ../shared/specs/wasi-preview1/path-resolution.md calls it; older hosts and
 * uvwasi say ENOTCAPABLE. Both are accepted for escapes and the ok line says
 * which one the host returned.
 *
 * For a read-only preopen, ENOTCAPABLE is asserted. In WASI's capability
 * model a read-only preopen is a directory descriptor whose rights lack the
 * mutating rights (PATH_CREATE_FILE, PATH_CREATE_DIRECTORY, PATH_UNLINK_FILE,
 * PATH_RENAME_*, PATH_SYMLINK, PATH_LINK_*, PATH_FILESTAT_SET_*, and
 * FD_WRITE among the inheriting rights), so a call that needs one of them is
 * refused with ENOTCAPABLE before the filesystem is consulted. (wasmtime
 * models read-only preopens with its own DirPerms instead and says EPERM;
 * a host that let the call reach a read-only filesystem would say EROFS.
 * The FAIL line shows what the host returned.)
 */
#include "testlib.h"

static __wasi_fd_t D;
static int ro_mode;
static const char *ro_file; /* existing file in ro mode, or NULL */

#define FOLLOW __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW
#define EPERM_ __WASI_ERRNO_PERM
#define ENOTCAP_ __WASI_ERRNO_NOTCAPABLE

static __wasi_errno_t try_open(__wasi_fd_t dir, const char *path, __wasi_oflags_t of,
                               __wasi_rights_t rights) {
  __wasi_fd_t fd;
  __wasi_errno_t e = __wasi_path_open(dir, FOLLOW, path, of, rights, rights, 0, &fd);
  if (e == 0) (void)__wasi_fd_close(fd);
  return e;
}

static void escape(const char *name, __wasi_errno_t e) {
  t_expect_errno2(name, e, EPERM_, ENOTCAP_);
}

/* -------------------------------------------- escapes that need no setup */

static void test_plain_escapes(void) {
  __wasi_filestat_t st;
  char buf[64];
  __wasi_size_t n;

  escape("escape.absolute_open", try_open(D, "/etc/passwd", 0, R_FILE_READ));
  escape("escape.absolute_root_dir", try_open(D, "/", __WASI_OFLAGS_DIRECTORY, R_DIR_READ));
  escape("escape.absolute_stat", __wasi_path_filestat_get(D, FOLLOW, "/etc/passwd", &st));
  escape("escape.dotdot_open", try_open(D, "../x", 0, R_FILE_READ));
  escape("escape.dotdot_dir", try_open(D, "..", __WASI_OFLAGS_DIRECTORY, R_DIR_READ));
  escape("escape.dot_dotdot_dir", try_open(D, "./..", __WASI_OFLAGS_DIRECTORY, R_DIR_READ));
  escape("escape.dotdot_stat", __wasi_path_filestat_get(D, FOLLOW, "..", &st));
  escape("escape.dotdot_readlink", __wasi_path_readlink(D, "../x", (uint8_t *)buf, 64, &n));
  escape("escape.dotdot_creat",
         try_open(D, "../donjon_escape_creat", __WASI_OFLAGS_CREAT, R_FILE_RW));
  escape("escape.absolute_creat",
         try_open(D, "/tmp/donjon_escape_abs", __WASI_OFLAGS_CREAT, R_FILE_RW));

  /*
   * An embedded NUL: the path is "x\0/../../etc" with its full length. WASI
   * strings carry a length, so the host must not stop at the NUL and open
   * "x", nor pass the rest to the OS. wasmtime says EINVAL (Rust refuses a
   * path with a NUL, as Linux would if it could be given one). EILSEQ is not
   * accepted: the bytes are valid UTF-8.
   */
  {
    static const char p[] = "x\0/../../etc";
    __wasi_fd_t fd;
    __wasi_errno_t e = t_path_open_n(D, p, sizeof p - 1, 0, R_FILE_READ, &fd);
    if (e == 0) (void)__wasi_fd_close(fd);
    t_expect_errno("escape.nul_in_path_einval", e, __WASI_ERRNO_INVAL);
  }
}

/* -------------------------------------- escapes that need a writable dir */

static void test_escapes_rw(void) {
  __wasi_fd_t sub = 0;
  __wasi_filestat_t st;
  char buf[64];
  size_t got;

  t_expect_ok("escape.setup", __wasi_path_create_directory(D, "a"));
  (void)__wasi_path_create_directory(D, "a/b");
  (void)t_create_file(D, "f", "inside");
  (void)t_create_file(D, "a/f", "in a");

  escape("escape.nested_dotdot", try_open(D, "a/../../x", 0, R_FILE_READ));
  escape("escape.deep_dotdot", try_open(D, "a/b/../../../x", 0, R_FILE_READ));
  /* Going out and back in is refused too: "temporarily" leaving is leaving. */
  escape("escape.out_and_back_in", try_open(D, "../scratch/f", 0, R_FILE_READ));
  escape("escape.out_and_back_in_nested", try_open(D, "a/../../scratch/f", 0, R_FILE_READ));
  /* Staying inside with ".." is fine. */
  t_expect_ok("escape.dotdot_inside_ok", try_open(D, "a/b/../../f", 0, R_FILE_READ));

  /* The sandbox is the directory handle used, not the preopen: ".." from "a"'s fd is out. */
  if (t_open_dir(D, "a", &sub) == 0) {
    escape("escape.subdir_fd_dotdot", try_open(sub, "../f", 0, R_FILE_READ));
    escape("escape.subdir_fd_dotdot_dir", try_open(sub, "..", __WASI_OFLAGS_DIRECTORY, R_DIR));
    t_expect_ok("escape.subdir_fd_inside_ok", try_open(sub, "b/../f", 0, R_FILE_READ));
    (void)__wasi_fd_close(sub);
  }

  /* Mutations whose target is outside. */
  escape("escape.mkdir_out", __wasi_path_create_directory(D, "../donjon_escape_dir"));
  escape("escape.mkdir_out_nested", __wasi_path_create_directory(D, "a/../../donjon_escape_dir2"));
  escape("escape.rename_out", __wasi_path_rename(D, "f", D, "../donjon_escape_rename"));
  escape("escape.rename_in", __wasi_path_rename(D, "../donjon_escape_x", D, "g"));
  escape("escape.link_out", __wasi_path_link(D, 0, "f", D, "../donjon_escape_link"));
  escape("escape.link_in", __wasi_path_link(D, 0, "../donjon_escape_x", D, "g"));
  escape("escape.symlink_created_out", __wasi_path_symlink("f", D, "../donjon_escape_symlink"));
  escape("escape.unlink_out", __wasi_path_unlink_file(D, "../donjon_escape_x"));
  escape("escape.rmdir_out", __wasi_path_remove_directory(D, "../donjon_escape_x"));
  escape("escape.set_times_out",
         __wasi_path_filestat_set_times(D, FOLLOW, "..", 0, 0, __WASI_FSTFLAGS_MTIM_NOW));
  if (t_read_file(D, "f", buf, sizeof buf, &got) == 0)
    t_expect_bytes("escape.rename_out_kept_file", buf, got, "inside", 6);
  else
    t_fail("escape.rename_out_kept_file", "expected f to exist got an error");

  /* The embedded-NUL path again, for calls that would create something. */
  {
    static const char p[] = "x\0/../../donjon_escape_nul";
    __wasi_fd_t fd;
    __wasi_errno_t e = t_path_open_n(D, p, sizeof p - 1, __WASI_OFLAGS_CREAT, R_FILE_RW, &fd);
    if (e == 0) (void)__wasi_fd_close(fd);
    t_expect_errno("escape.nul_in_path_creat_einval", e, __WASI_ERRNO_INVAL);
    e = (__wasi_errno_t)t_raw_path_create_directory((int32_t)D, (int32_t)(intptr_t)p,
                                                    (int32_t)(sizeof p - 1));
    t_expect_errno("escape.nul_in_path_mkdir_einval", e, __WASI_ERRNO_INVAL);
  }

  /*
   * Symlinks. Their content is not checked when they are created (it is only
   * a string), except that an absolute target is refused; they are checked
   * when followed (path-resolution.md, "Symlinks").
   */
  t_expect_ok("escape.symlink_dotdot_create_ok", __wasi_path_symlink("../..", D, "out"));
  escape("escape.symlink_dotdot_follow", try_open(D, "out/x", 0, R_FILE_READ));
  escape("escape.symlink_dotdot_follow_dir", try_open(D, "out", __WASI_OFLAGS_DIRECTORY, R_DIR));
  escape("escape.symlink_dotdot_creat_through",
         try_open(D, "out/donjon_escape_via_symlink", __WASI_OFLAGS_CREAT, R_FILE_RW));
  escape("escape.symlink_dotdot_mkdir_through",
         __wasi_path_create_directory(D, "out/donjon_escape_via_symlink_dir"));
  escape("escape.symlink_dotdot_stat_follow", __wasi_path_filestat_get(D, FOLLOW, "out", &st));
  /* Not following it is fine: it is a symlink inside the sandbox. */
  t_expect_ok("escape.symlink_dotdot_stat_nofollow", __wasi_path_filestat_get(D, 0, "out", &st));

  /* A chain: l1 -> l2 -> "../" (from the top directory). */
  (void)__wasi_path_symlink("l2", D, "l1");
  (void)__wasi_path_symlink("../", D, "l2");
  escape("escape.symlink_chain", try_open(D, "l1/x", 0, R_FILE_READ));
  escape("escape.symlink_chain_dir", try_open(D, "l1", __WASI_OFLAGS_DIRECTORY, R_DIR));
  /* A chain that goes up and comes back in is still out at one step. */
  (void)__wasi_path_symlink("../scratch/f", D, "back");
  escape("escape.symlink_out_and_back", try_open(D, "back", 0, R_FILE_READ));

  /* A symlink in a subdirectory to ".." stays inside: allowed. */
  (void)__wasi_path_symlink("..", D, "a/up");
  t_expect_ok("escape.symlink_up_inside_ok", try_open(D, "a/up/f", 0, R_FILE_READ));
  (void)__wasi_path_symlink("../../f", D, "a/b/upf");
  t_expect_ok("escape.symlink_up_twice_inside_ok", try_open(D, "a/b/upf", 0, R_FILE_READ));

  /*
   * An absolute target. Creating it is refused: current wasmtime (cap-std's
   * Dir::symlink, which rejects a target with a root) says EPERM, and
   * path-resolution.md says creating one "fails with a not permitted error"
   * (older wasmtime created it and refused only to follow it). ENOTCAPABLE is
   * accepted as for every other escape. Should a host create it anyway,
   * following it must still fail; that is checked too, so that the run says
   * how bad it is.
   */
  {
    __wasi_errno_t e = __wasi_path_symlink("/etc", D, "abs");
    escape("escape.symlink_absolute_create_refused", e);
    if (e == 0) {
      escape("escape.symlink_absolute_follow", try_open(D, "abs/passwd", 0, R_FILE_READ));
      escape("escape.symlink_absolute_follow_dir",
             try_open(D, "abs", __WASI_OFLAGS_DIRECTORY, R_DIR));
      (void)__wasi_path_unlink_file(D, "abs");
    }
    e = __wasi_path_symlink("/tmp/donjon_escape_abs_target", D, "abs2");
    escape("escape.symlink_absolute_create_tmp_refused", e);
    if (e == 0) {
      escape("escape.symlink_absolute_creat_through",
             try_open(D, "abs2", __WASI_OFLAGS_CREAT, R_FILE_RW));
      (void)__wasi_path_unlink_file(D, "abs2");
    }
  }

  (void)__wasi_path_unlink_file(D, "out");
  (void)__wasi_path_unlink_file(D, "l1");
  (void)__wasi_path_unlink_file(D, "l2");
  (void)__wasi_path_unlink_file(D, "back");
  (void)__wasi_path_unlink_file(D, "a/up");
  (void)__wasi_path_unlink_file(D, "a/b/upf");
  (void)__wasi_path_unlink_file(D, "a/f");
  (void)__wasi_path_remove_directory(D, "a/b");
  (void)__wasi_path_remove_directory(D, "a");
  (void)__wasi_path_unlink_file(D, "f");
  /* Names a host that drops ".." would have created inside. */
  static const char *const stray[] = {"donjon_escape_creat", "donjon_escape_dir",
                                      "donjon_escape_rename", "donjon_escape_link",
                                      "donjon_escape_symlink", "x", "g"};
  int found = 0;
  for (size_t i = 0; i < sizeof stray / sizeof stray[0]; i++) {
    if (__wasi_path_filestat_get(D, 0, stray[i], &st) == 0) {
      t_info("unexpected entry inside the scratch dir: %s", stray[i]);
      found++;
    }
  }
  t_expect("escape.nothing_stray_inside", found == 0, "expected 0 stray entries got %d", found);
}

/* ------------------------------------------------- read-only preopen */

#define SEED_FILE "ro_file.txt"
#define SEED_CONTENT "read-only content\n"

/* "seed": what the later "ro" run finds. */
static void seed(void) {
  t_expect_ok("seed.file", t_create_file(D, SEED_FILE, SEED_CONTENT));
  t_expect_ok("seed.dir", __wasi_path_create_directory(D, "ro_dir"));
  t_expect_ok("seed.dir_file", t_create_file(D, "ro_dir/inner.txt", "inner\n"));
  t_expect_ok("seed.symlink", __wasi_path_symlink(SEED_FILE, D, "ro_link"));
}

static void notcap(const char *name, __wasi_errno_t e) {
  t_expect_errno(name, e, ENOTCAP_);
}

static void test_read_only(void) {
  static struct t_dirent before[T_MAX_ENTRIES], after[T_MAX_ENTRIES];
  int nbefore = 0, nafter = 0;
  char content[4096], again[4096];
  size_t clen = 0, alen = 0;
  __wasi_fdstat_t fst;
  __wasi_errno_t e;

  e = __wasi_fd_fdstat_get(D, &fst);
  if (t_expect_ok("ro.fdstat", e)) {
    const __wasi_rights_t mutating =
        __WASI_RIGHTS_PATH_CREATE_FILE | __WASI_RIGHTS_PATH_CREATE_DIRECTORY |
        __WASI_RIGHTS_PATH_UNLINK_FILE | __WASI_RIGHTS_PATH_REMOVE_DIRECTORY |
        __WASI_RIGHTS_PATH_RENAME_SOURCE | __WASI_RIGHTS_PATH_RENAME_TARGET |
        __WASI_RIGHTS_PATH_SYMLINK | __WASI_RIGHTS_PATH_LINK_SOURCE |
        __WASI_RIGHTS_PATH_LINK_TARGET | __WASI_RIGHTS_PATH_FILESTAT_SET_SIZE |
        __WASI_RIGHTS_PATH_FILESTAT_SET_TIMES;
    t_expect("ro.rights_base_lack_mutation", (fst.fs_rights_base & mutating) == 0,
             "expected none of 0x%llx in base got 0x%llx", (unsigned long long)mutating,
             (unsigned long long)fst.fs_rights_base);
    t_expect("ro.rights_inheriting_lack_write",
             (fst.fs_rights_inheriting & __WASI_RIGHTS_FD_WRITE) == 0,
             "expected no FD_WRITE in inheriting got 0x%llx",
             (unsigned long long)fst.fs_rights_inheriting);
    t_expect("ro.rights_allow_reading",
             (fst.fs_rights_base & __WASI_RIGHTS_PATH_OPEN) &&
                 (fst.fs_rights_base & __WASI_RIGHTS_FD_READDIR) &&
                 (fst.fs_rights_inheriting & __WASI_RIGHTS_FD_READ),
             "expected PATH_OPEN, FD_READDIR and inheriting FD_READ got 0x%llx/0x%llx",
             (unsigned long long)fst.fs_rights_base,
             (unsigned long long)fst.fs_rights_inheriting);
  }

  e = t_list_dir(D, 4096, before, T_MAX_ENTRIES, &nbefore, NULL);
  t_expect_ok("ro.readdir_ok", e);
  if (!ro_file) {
    __wasi_filestat_t st;
    if (__wasi_path_filestat_get(D, 0, SEED_FILE, &st) == 0) {
      ro_file = SEED_FILE;
      size_t len = 0;
      e = t_read_file(D, SEED_FILE, content, sizeof content, &len);
      t_expect_bytes("ro.seeded_content", content, e == 0 ? len : 0, SEED_CONTENT,
                     strlen(SEED_CONTENT));
      /* Reading through a symlink and in a subdirectory is allowed too. */
      e = t_read_file(D, "ro_link", content, sizeof content, &len);
      t_expect_bytes("ro.read_through_symlink_ok", content, e == 0 ? len : 0, SEED_CONTENT,
                     strlen(SEED_CONTENT));
      e = t_read_file(D, "ro_dir/inner.txt", content, sizeof content, &len);
      t_expect_bytes("ro.read_in_subdir_ok", content, e == 0 ? len : 0, "inner\n", 6);
      /* A directory opened beneath a read-only preopen is read-only as well. */
      __wasi_fd_t sub;
      e = __wasi_path_open(D, FOLLOW, "ro_dir", __WASI_OFLAGS_DIRECTORY, R_DIR_READ, R_FILE_READ,
                           0, &sub);
      if (t_expect_ok("ro.open_subdir_ok", e)) {
        notcap("ro.subdir_creat", try_open(sub, "donjon_ro_new", __WASI_OFLAGS_CREAT, R_FILE_RW));
        notcap("ro.subdir_unlink", __wasi_path_unlink_file(sub, "inner.txt"));
        (void)__wasi_fd_close(sub);
      }
      /*
       * Asking for more rights than the preopen can hand down. path_open
       * may return fewer rights than asked "if and only if those rights do
       * not apply to the type of file being opened" (docs.md, path_open),
       * so quietly dropping FD_WRITE is not allowed: the open must fail.
       */
      e = __wasi_path_open(D, FOLLOW, "ro_dir", __WASI_OFLAGS_DIRECTORY, R_DIR, R_FILE_RW, 0,
                           &sub);
      if (e == 0) (void)__wasi_fd_close(sub);
      notcap("ro.open_subdir_with_write_rights", e);
    }
  }
  if (ro_file) {
    e = t_read_file(D, ro_file, content, sizeof content, &clen);
    t_expect_ok("ro.read_existing_ok", e);
    __wasi_filestat_t st;
    t_expect_ok("ro.stat_existing_ok", __wasi_path_filestat_get(D, FOLLOW, ro_file, &st));
  } else {
    t_info("no existing file named on the command line; checks on one are skipped");
  }

  /* Names that do not exist: the rights check comes before any lookup. */
  notcap("ro.creat", try_open(D, "donjon_ro_new", __WASI_OFLAGS_CREAT, R_FILE_RW));
  notcap("ro.creat_excl",
         try_open(D, "donjon_ro_new", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, R_FILE_RW));
  notcap("ro.mkdir", __wasi_path_create_directory(D, "donjon_ro_dir"));
  notcap("ro.symlink", __wasi_path_symlink("x", D, "donjon_ro_symlink"));

  if (ro_file) {
    /* Refused, not opened read-only: FD_WRITE applies to a regular file (see above). */
    notcap("ro.open_for_write", try_open(D, ro_file, 0, R_FILE_RW));
    notcap("ro.open_write_only", try_open(D, ro_file, 0, __WASI_RIGHTS_FD_WRITE));
    notcap("ro.truncate", try_open(D, ro_file, __WASI_OFLAGS_TRUNC, R_FILE_READ));
    notcap("ro.creat_existing", try_open(D, ro_file, __WASI_OFLAGS_CREAT, R_FILE_READ));
    notcap("ro.unlink", __wasi_path_unlink_file(D, ro_file));
    notcap("ro.rename", __wasi_path_rename(D, ro_file, D, "donjon_ro_renamed"));
    notcap("ro.link", __wasi_path_link(D, 0, ro_file, D, "donjon_ro_link"));
    notcap("ro.set_times",
           __wasi_path_filestat_set_times(D, FOLLOW, ro_file, 0, 0, __WASI_FSTFLAGS_MTIM_NOW));
    __wasi_fd_t fd;
    e = t_open(D, ro_file, 0, R_FILE_READ, 0, &fd);
    if (t_expect_ok("ro.open_read_ok", e)) {
      e = t_write_fd(fd, "x", 1);
      t_expect_errno2("ro.fd_write_refused", e, ENOTCAP_, __WASI_ERRNO_BADF);
      e = __wasi_fd_filestat_set_size(fd, 0);
      t_expect_errno2("ro.fd_filestat_set_size_refused", e, ENOTCAP_, __WASI_ERRNO_INVAL);
      e = __wasi_fd_fdstat_set_rights(fd, R_FILE_RW, 0);
      notcap("ro.fd_fdstat_set_rights_add_write", e);
      (void)__wasi_fd_close(fd);
    }
    e = t_read_file(D, ro_file, again, sizeof again, &alen);
    t_expect("ro.existing_unchanged", e == 0 && alen == clen && memcmp(content, again, clen) == 0,
             "expected the same %zu bytes got %zu (%s)", clen, alen, t_errname(e));
  } else {
    notcap("ro.unlink_missing", __wasi_path_unlink_file(D, "donjon_ro_missing"));
    notcap("ro.rename_missing", __wasi_path_rename(D, "donjon_ro_missing", D, "donjon_ro_x"));
  }
  notcap("ro.rmdir_missing", __wasi_path_remove_directory(D, "donjon_ro_missing_dir"));

  e = t_list_dir(D, 4096, after, T_MAX_ENTRIES, &nafter, NULL);
  int same = e == 0 && nafter == nbefore;
  for (int i = 0; same && i < nafter && i < T_MAX_ENTRIES; i++) {
    int hit = 0;
    for (int j = 0; j < nbefore && j < T_MAX_ENTRIES; j++)
      if (strcmp(after[i].name, before[j].name) == 0) hit = 1;
    if (!hit) {
      t_info("new entry: %s", after[i].name);
      same = 0;
    }
  }
  t_expect("ro.listing_unchanged", same, "expected %d entries as before got %d (%s)", nbefore,
           nafter, t_errname(e));
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "rw";
  int seed_mode = 0;
  if (strcmp(mode, "ro") == 0) {
    ro_mode = 1;
    ro_file = argc > 2 ? argv[2] : NULL;
  } else if (strcmp(mode, "seed") == 0) {
    seed_mode = 1;
  } else if (strcmp(mode, "rw") != 0) {
    t_fail("args", "expected \"rw\", \"seed\" or \"ro [FILE]\" got \"%s\"", mode);
    return t_done();
  }
  if (!t_scratch_or_die(&D)) return t_done();
  if (seed_mode) {
    seed();
    return t_done();
  }

  if (!ro_mode) {
    t_expect("scratch.empty_at_start", t_count_entries(D) == 0, "expected 0 entries got %d",
             t_count_entries(D));
  }
  test_plain_escapes();
  if (ro_mode) {
    test_read_only();
  } else {
    test_escapes_rw();
    int left = t_count_entries(D);
    if (!t_expect("scratch.empty_at_end", left == 0, "expected 0 entries got %d", left))
      t_info_listing(D);
  }
  return t_done();
}
