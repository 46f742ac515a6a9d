/**
 * Fixed TEST-ONLY private keys (PKCS#8, PEM) of the fake Intel hierarchy. They are
 * public in this repository and protect nothing. Generated once with
 * `scripts/gen-intel-keys.ts` (WebCrypto: ECDSA P-256, as every Intel DCAP key is).
 * Generated file: do not edit by hand.
 */

/** the fake Intel SGX Root CA (signs the PCK CA). */
export const INTEL_ROOT_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgovPhZzB5l+vFQz8s
TSjK1mqHMfBwp3n0VYuU33Nyl3uhRANCAAQ/zz0bkuMeRBpNNnO3RhMLHrS6VNaE
VIN1+v5JNGMKvS5jOWel3/t2UG///x5i/rxXZPn0hVOVH3ENl2y/SZ4S
-----END PRIVATE KEY-----`;

/** the fake Intel SGX PCK Platform/Processor CA (signs PCK certificates). */
export const INTEL_PCK_CA_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgZr8339mgVDD32Z22
yDcAu/w9luIznqN5CocK4FbhBcOhRANCAATufEV8ieRmqr6HYJkCbRxkwIZ0PYzv
qxa3EqQCrHYk1isPV58aQWZwSAl+eyKzX9qYijE6swMAYtLhSd08qXc2
-----END PRIVATE KEY-----`;

/** the fake PCK leaf (signs QE reports). */
export const INTEL_PCK_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgF6EWDgsLvdFaDgp6
JXcf6GRKr+I2bEXofNJL+a9C0iShRANCAATZMk6275TwyyWWpZaGEwldaK4Q+ASH
+Oc1cJGez2F0gJ8MpH2Wob27dXyqYWTWBRIkhA7sLIr2Rh35jrzTwgCx
-----END PRIVATE KEY-----`;

/** the fake QE's attestation key (signs quotes). */
export const INTEL_ATTESTATION_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgcx5qAA4uXgx48Lvm
lhKZevrJHXjVZZo6WLABLe/KwUyhRANCAAR3Sapj+Ghh2/0ezAO65KihFRTgO4up
HsdvJ4mXI4yy/L/ZOCs4kzgj00DGiNCofLXNwyasEeM1XGGgOSPIjz/c
-----END PRIVATE KEY-----`;

/** a P-256 key no certificate names (the 'signed by the wrong key' cases). */
export const INTEL_OTHER_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgUxRP5e1DqUQbofJ1
biDTjLhMwro/cFtBjgh5164mYE2hRANCAATU9nVnO6LX+vlrZZtyIisav2KtZnSR
jBy+BQXKTVCOGaFARH3G79hZQUxYaIMAv3ZglPqkKCEh5+YYEBPZZ9Ra
-----END PRIVATE KEY-----`;
