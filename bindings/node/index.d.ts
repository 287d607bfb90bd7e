// Type declarations for mle-runtime (index.js). See docs/node.md.

/// <reference types="node" />

/** Element type names (docs/FORMAT.md §7). */
// BEGIN GENERATED: dtype names (cmd/mle-gentables) - do not edit
export type DType =
  | 'float32'
  | 'uint8'
  | 'int8'
  | 'int32'
  | 'int64'
  | 'string'
  | 'bool'
  | 'float16'
  | 'float64'
  | 'bfloat16';
// END GENERATED: dtype names

/**
 * The array each dtype comes back as: a TypedArray (bool: 0/1 bytes; float16/bfloat16: raw bits), or
 * for string an Array of JS strings.
 */
// BEGIN GENERATED: dtype arrays (cmd/mle-gentables) - do not edit
export interface DTypeArrayMap {
  float32: Float32Array;
  uint8: Uint8Array;
  int8: Int8Array;
  int32: Int32Array;
  int64: BigInt64Array;
  string: string[];
  bool: Uint8Array;
  float16: Uint16Array;
  float64: Float64Array;
  bfloat16: Uint16Array;
}
// END GENERATED: dtype arrays

/** Any array run() returns. */
export type OutputArray = DTypeArrayMap[DType];

/**
 * A dimension as this package returns it: a number, or a bigint when it is above
 * Number.MAX_SAFE_INTEGER (2^53 - 1), which a double would round. Only an empty tensor can
 * have such a dimension.
 */
export type Dim = number | bigint;

/** A graph input or output as the model declares it. */
export interface TensorInfo {
  readonly name: string;
  /** The dtype name; "dtype<id>" for an id this package does not know. */
  readonly dtype: DType | string;
  /** Dimensions; -1 marks one sized at run time. */
  readonly shape: readonly Dim[];
}

/**
 * Elements of an input:
 * - a TypedArray: Float32Array, Float64Array, BigInt64Array, Int32Array, Int8Array and Uint8Array imply
 *   float32, float64, int64, int32, int8 and uint8 (a Uint8Array also fits a bool input, a Uint16Array a
 *   float16/bfloat16 input, as raw bits);
 * - a Uint8Array (Buffer) or DataView of raw little-endian bytes of any dtype;
 * - a plain (possibly nested) array, converted to the dtype element by element: numbers or bigints
 *   for float dtypes (float16/bfloat16 rounded to nearest even), integers in range for integer dtypes
 *   (int64: bigints, or numbers up to 2^53 - 1), booleans or 0/1 for bool. Any other element (a
 *   string, an object, undefined, a hole, a boolean for a numeric dtype) is a TypeError naming the
 *   input and the element; a number the dtype cannot hold (1.5 or 300 for uint8) is
 *   MLE_ERR_INVALID_VALUE;
 * - for a string input, a plain (possibly nested) array of strings, and nothing else (MLE_ERR_DTYPE,
 *   also for a non-string element). Each is encoded as UTF-8: one with a lone surrogate, which UTF-8
 *   cannot hold, or over MAX_STRING_BYTES bytes of UTF-8 is MLE_ERR_INVALID_STRING.
 */
export type InputData =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | Int32Array
  | Int8Array
  | Uint8Array
  | Uint16Array
  | DataView
  | NestedArray<number | bigint | boolean>
  | NestedArray<string>;

/** A plain array, possibly nested (up to rank 8). */
export type NestedArray<T> = readonly (T | NestedArray<T>)[];

/** One input tensor. */
export interface InputTensor {
  data: InputData;
  /**
   * Dimensions (non-negative integers below 2^63, rank <= 8; bigints keep ones above 2^53 - 1
   * exact). Optional when the model's declared shape has at most one -1 (inferred from the element
   * count) or data is a nested array (its nesting). For strings it must hold exactly the elements
   * given (else MLE_ERR_SHAPE).
   */
  shape?: readonly (number | bigint)[];
  /** Element type; by default the TypedArray's (or, for plain arrays, the model input's). */
  dtype?: DType;
}

/** run() inputs by input name: {data, shape?, dtype?}, or the data alone. */
export type Inputs = Record<string, InputTensor | InputData>;

/** One output tensor. Its data owns its memory and outlives the model. */
export interface OutputTensor<A extends OutputArray = OutputArray> {
  data: A;
  /** Numbers; a bigint for a dimension above 2^53 - 1 (then the tensor is empty). */
  shape: Dim[];
  dtype: DType | string;
}

/** run() results by output name, in the order asked for (default: graph order). */
export type Outputs = Record<string, OutputTensor>;

/** runSync() options. */
export interface RunSyncOptions {
  /** Compute only these outputs (by name); nodes that feed none of them do not run. Default: all. */
  outputs?: readonly string[] | string;
  /**
   * Stop the run with MLEError "MLE_ERR_CANCELLED_DEADLINE" (status 272) once it has run this long
   * (milliseconds, from when it starts on its thread: time queued for a libuv pool thread does not
   * count; time waiting for one of the model's maxSessions sessions does).
   * 0 or absent: no limit. A TypeError if not a number, a RangeError if negative, NaN or infinite.
   */
  timeoutMs?: number;
}

/** run() options. */
export interface RunOptions extends RunSyncOptions {
  /**
   * Aborting it stops the run soon after (within about a millisecond of work) and the promise
   * rejects with an AbortError (code "MLE_ERR_CANCELLED", status 16), whose `cause` is the
   * signal's reason; so does a run whose signal fires before its promise settles. A signal already
   * aborted rejects at once and nothing runs. One signal may serve many runs.
   */
  signal?: AbortSignal;
}

/** Serving options of a model (mle_model_options): load() takes them, setOptions() changes them. */
export interface ModelOptions {
  /**
   * The most runs of this model that proceed at once (each on a session of libmle's pool, with
   * its own arena); further runs wait for a session, within their timeoutMs and signal. 0
   * (default) = one per CPU; at most 65536. A non-integer or negative value, or one above the
   * limit, is MLE_ERR_INVALID_OPTIONS (513).
   */
  maxSessions?: number;
  /**
   * Microseconds an idle intra-op worker thread spins for more work before it sleeps: faster
   * back-to-back runs for CPU time. 0 (default) = 1000, -1 = never spin, at most 100000; otherwise
   * MLE_ERR_INVALID_OPTIONS (513).
   */
  spinUs?: number;
}

export interface LoadOptions extends ModelOptions {
  /** Check every CRC, weights included (default false). */
  verify?: boolean;
  /** Read the file into memory instead of mapping it (default false; not with loadBuffer). */
  readAll?: boolean;
  /** Intra-op threads; 0 (default) = number of CPUs. */
  threads?: number;
  /** "cpu" (default); "cuda" fails with MLE_ERR_UNSUPPORTED_DEVICE in CPU-only builds. */
  device?: 'cpu' | 'cuda';
  /**
   * Cap in bytes on all the memory a session allocates for one run: activation arena, kernel
   * scratch and plan tables, staging copies of misaligned inputs, and the outputs. A run that would
   * need more fails with MLE_ERR_NO_MEMORY_LIMIT (269) before allocating anything. 0 (default): 16 GiB,
   * or 3/4 of what this process may use (physical memory, cgroup limit, RLIMIT_AS/RLIMIT_DATA) if
   * that is less.
   */
  maxArenaBytes?: number | bigint;
  /**
   * The 32-byte key an encrypted file was written with. Without it an encrypted file is
   * MLE_ERR_KEY_REQUIRED (1297); another key is MLE_ERR_KEY_WRONG (1553), another length
   * MLE_ERR_KEY_INVALID (1809).
   */
  key?: Uint8Array;
  /**
   * Ed25519 public keys: bytes (PEM or 32 raw), PEM text, or the path of a .pub file (read
   * here; MLE_ERR_IO_OPEN if it cannot be). A signed file must then carry a valid signature by
   * one of them: MLE_ERR_SIGNATURE_UNTRUSTED (529), MLE_ERR_SIGNATURE_INVALID (273). An unsigned
   * file opens unless requireSignature is set.
   */
  trustedKeys?: readonly KeySource[] | KeySource;
  /** Refuse an unsigned file (MLE_ERR_SIGNATURE_REQUIRED, 785); needs trustedKeys. */
  requireSignature?: boolean;
}

/** loadAsync() options. */
export interface LoadAsyncOptions extends LoadOptions {
  /**
   * Aborting it rejects the promise at once with an AbortError whose `cause` is the signal's
   * reason. libmle cannot stop an open half-way: one in progress finishes on its thread and its
   * model is freed, never handed out. A signal already aborted rejects without opening anything.
   */
  signal?: AbortSignal;
}

/** A key as bytes (Buffer, Uint8Array), PEM text, or a key file's path. */
export type KeySource = Uint8Array | string | URL;

/**
 * An open model. Safe to run from many async calls at once: each run borrows a session from
 * libmle's pool, at most maxSessions at a time.
 */
export declare class Model {
  /** Not constructible: use load(), loadAsync() or loadBuffer(). */
  private constructor();
  /** The graph inputs, in order (frozen). */
  readonly inputs: readonly TensorInfo[];
  /** The graph outputs, in order (frozen). */
  readonly outputs: readonly TensorInfo[];
  /** The METADATA section parsed (frozen): name, version, description, producer, inputs, outputs, ... */
  readonly metadata: Readonly<Record<string, any>>;
  /** The METADATA section's JSON text. */
  readonly metadataJSON: string;
  /** Whether close() was called. */
  readonly closed: boolean;
  /**
   * Runs on the libuv thread pool without blocking the event loop. Inputs are copied before this
   * returns. Rejects with MLEError (argument errors too), or AbortError once options.signal fires
   * before the promise settles. A pending run never delays
   * process.exit() or worker.terminate(): it is cancelled.
   */
  run(inputs: Inputs, options?: RunOptions): Promise<Outputs>;
  /**
   * Runs on the calling thread. Throws MLEError (TypeError for arguments of the wrong type; no
   * `signal`, since nothing could abort it while the thread is blocked: use timeoutMs).
   */
  runSync(inputs: Inputs, options?: RunSyncOptions): Outputs;
  /**
   * Refuses further runs (MLE_ERR_BAD_HANDLE) and frees the model and its sessions, once the runs
   * already begun finish. Idempotent. Without it, garbage collection frees the model.
   */
  close(): void;
  /**
   * Changes the serving options; those left out keep their value. Runs that start afterwards use
   * them (lowering maxSessions lets the runs in progress finish). Throws MLEError:
   * MLE_ERR_INVALID_OPTIONS (513) for an unknown option or a value out of range,
   * MLE_ERR_BAD_HANDLE (2) once closed.
   */
  setOptions(options: ModelOptions): void;
  [Symbol.dispose](): void;
}

/**
 * A status name: "MLE_ERR_" and a key of Status, e.g. "MLE_ERR_FORMAT_TRUNCATED". A libmle newer
 * than this package may report one it does not list ("MLE_ERR_UNKNOWN" if even libmle does not
 * know the code), hence the open string.
 */
export type StatusCode = `MLE_${Exclude<keyof typeof Status, 'OK'>}` | (string & {});

/**
 * An error from libmle, or from argument checks here (same status scheme). Like Node's own
 * errors, `code` is a string; the number is `status`.
 */
export declare class MLEError extends Error {
  constructor(message: string, status: number, code?: string);
  readonly name: 'MLEError' | 'AbortError';
  /** The extended status's name, e.g. "MLE_ERR_FORMAT_BAD_MAGIC" (mle_status_string). */
  readonly code: StatusCode;
  /** The extended status code, e.g. 516 (a value of Status). */
  readonly status: number;
  /** The primary code, status & 0xff, e.g. 4. */
  readonly primary: number;
  /** The primary code's name, e.g. "MLE_ERR_FORMAT". */
  readonly primaryCode: StatusCode;
  /** @deprecated The old name of primaryCode. */
  readonly primaryStatus: StatusCode;
}

/**
 * How run() and loadAsync() reject once their AbortSignal fires: an MLEError of status
 * MLE_ERR_CANCELLED (16) named "AbortError" (as Node's abortable calls name theirs), whose cause
 * is the signal's reason.
 */
export declare class AbortError extends MLEError {
  constructor(message: string, reason?: unknown);
  readonly name: 'AbortError';
  readonly code: 'MLE_ERR_CANCELLED';
  readonly status: 16;
  /** signal.reason: by default a DOMException named "AbortError" ("TimeoutError" for AbortSignal.timeout()). */
  readonly cause: unknown;
}

// BEGIN GENERATED: status codes (cmd/mle-gentables) - do not edit
/** Status codes of include/mle.h by name without the MLE_ prefix. */
export declare const Status: {
  readonly OK: 0;
  readonly ERR_INVALID_ARGUMENT: 1;
  readonly ERR_BAD_HANDLE: 2;
  readonly ERR_IO: 3;
  readonly ERR_FORMAT: 4;
  readonly ERR_CHECKSUM: 5;
  readonly ERR_GRAPH: 6;
  readonly ERR_METADATA: 7;
  readonly ERR_UNSUPPORTED: 8;
  readonly ERR_SHAPE: 9;
  readonly ERR_DTYPE: 10;
  readonly ERR_BUFFER_TOO_SMALL: 11;
  readonly ERR_FORKED: 12;
  readonly ERR_NO_MEMORY: 13;
  readonly ERR_INTERNAL: 14;
  readonly ERR_BUSY: 15;
  readonly ERR_CANCELLED: 16;
  readonly ERR_SECURITY: 17;
  readonly ERR_INVALID_NULL: 257;
  readonly ERR_INVALID_OPTIONS: 513;
  readonly ERR_INVALID_NAME: 769;
  readonly ERR_INVALID_VALUE: 1025;
  readonly ERR_INVALID_BUFFER: 1281;
  readonly ERR_INVALID_STRING: 1537;
  readonly ERR_INVALID_CATEGORY: 1793;
  readonly ERR_IO_OPEN: 259;
  readonly ERR_IO_READ: 515;
  readonly ERR_IO_MAP: 771;
  readonly ERR_IO_FAULT: 1027;
  readonly ERR_IO_WRITE: 1283;
  readonly ERR_IO_NOT_FILE: 1539;
  readonly ERR_FORMAT_TRUNCATED: 260;
  readonly ERR_FORMAT_BAD_MAGIC: 516;
  readonly ERR_FORMAT_VERSION: 772;
  readonly ERR_FORMAT_REQUIRED_FLAG: 1028;
  readonly ERR_FORMAT_ENDIAN: 1284;
  readonly ERR_FORMAT_SECTION_BOUNDS: 1540;
  readonly ERR_FORMAT_SECTION_OVERLAP: 1796;
  readonly ERR_FORMAT_GAP: 2052;
  readonly ERR_FORMAT_HEADER: 2308;
  readonly ERR_FORMAT_MISALIGNED: 2564;
  readonly ERR_FORMAT_SHAPE_OVERFLOW: 2820;
  readonly ERR_FORMAT_NEGATIVE_DIM: 3076;
  readonly ERR_FORMAT_DTYPE: 3332;
  readonly ERR_FORMAT_TENSOR_BOUNDS: 3588;
  readonly ERR_FORMAT_DESCRIPTOR: 3844;
  readonly ERR_FORMAT_STRING: 4100;
  readonly ERR_FORMAT_SIGNATURE: 4356;
  readonly ERR_FORMAT_MANIFEST: 4612;
  readonly ERR_FORMAT_CODEC: 4868;
  readonly ERR_FORMAT_CODEC_SIZE: 5124;
  readonly ERR_FORMAT_CHUNK_TABLE: 5380;
  readonly ERR_FORMAT_ENCRYPTION: 5636;
  readonly ERR_CHECKSUM_HEADER: 261;
  readonly ERR_CHECKSUM_SECTION: 517;
  readonly ERR_CHECKSUM_TENSOR: 773;
  readonly ERR_GRAPH_MISSING_TENSOR: 262;
  readonly ERR_GRAPH_CYCLE: 518;
  readonly ERR_GRAPH_UNKNOWN_OP: 774;
  readonly ERR_GRAPH_ATTRIBUTE: 1030;
  readonly ERR_GRAPH_SHAPE: 1286;
  readonly ERR_GRAPH_MALFORMED: 1542;
  readonly ERR_GRAPH_DUPLICATE: 1798;
  readonly ERR_GRAPH_DTYPE: 2054;
  readonly ERR_GRAPH_TOO_LARGE: 2310;
  readonly ERR_GRAPH_TREE: 2566;
  readonly ERR_METADATA_SYNTAX: 263;
  readonly ERR_METADATA_DUPLICATE: 519;
  readonly ERR_METADATA_TOO_LARGE: 775;
  readonly ERR_METADATA_DEPTH: 1031;
  readonly ERR_METADATA_FIELD: 1287;
  readonly ERR_METADATA_UTF8: 1543;
  readonly ERR_METADATA_SIGNATURE: 1799;
  readonly ERR_METADATA_MISSING_KEY: 2055;
  readonly ERR_METADATA_POLICY: 2311;
  readonly ERR_UNSUPPORTED_ENCODING: 264;
  readonly ERR_UNSUPPORTED_DEVICE: 520;
  readonly ERR_UNSUPPORTED_FEATURE: 776;
  readonly ERR_SHAPE_TOO_LARGE: 265;
  readonly ERR_NO_MEMORY_LIMIT: 269;
  readonly ERR_NO_MEMORY_SYSTEM: 525;
  readonly ERR_CANCELLED_DEADLINE: 272;
  readonly ERR_SIGNATURE_INVALID: 273;
  readonly ERR_SIGNATURE_UNTRUSTED: 529;
  readonly ERR_SIGNATURE_REQUIRED: 785;
  readonly ERR_DIGEST_MISMATCH: 1041;
  readonly ERR_KEY_REQUIRED: 1297;
  readonly ERR_KEY_WRONG: 1553;
  readonly ERR_KEY_INVALID: 1809;
  readonly ERR_DECRYPT: 2065;
  readonly ERR_POLICY: 2321;
};
// END GENERATED: status codes

/** Opens the .mle file at path (memory-mapped unless readAll) and validates it. Throws MLEError. */
export declare function load(path: string | URL, options?: LoadOptions): Model;
/**
 * load() on the libuv thread pool (useful with verify on large files). Rejects with MLEError, or
 * AbortError once options.signal fires.
 */
export declare function loadAsync(path: string | URL, options?: LoadAsyncOptions): Promise<Model>;
/** Opens a model from a whole .mle file's bytes (copied). Throws MLEError. */
export declare function loadBuffer(
  buffer: ArrayBufferView | ArrayBuffer | SharedArrayBuffer,
  options?: Omit<LoadOptions, 'readAll'> & { readAll?: false },
): Model;
/** The files keygen() wrote. */
export interface KeyPairPaths {
  /** `${prefix}.key`: the private key (PKCS #8 PEM, mode 0600). Keep it secret. */
  privateKeyPath: string;
  /** `${prefix}.pub`: the public key (PEM), for trustedKeys. */
  publicKeyPath: string;
}
/**
 * Writes a new Ed25519 key pair to `${prefix}.key` and `${prefix}.pub`. An existing
 * `${prefix}.key` is never replaced (MLEError). Synchronous.
 */
export declare function keygen(prefix: string | URL): KeyPairPaths;
/**
 * Signs the .mle file at path with a private key (a key file's path, PEM text, or bytes: PEM or
 * the 32-byte seed) into out (default: in place). Encrypted files are refused: sign first, then
 * encrypt. Returns the signed file's path. Synchronous; throws MLEError.
 */
export declare function sign(path: string | URL, key: KeySource, out?: string | URL): string;
/** Encrypts the .mle file at path with a 32-byte key into out (default: in place). Returns its path. */
export declare function encrypt(path: string | URL, key: Uint8Array, out?: string | URL): string;
/** Decrypts the .mle file at path (MLE_ERR_KEY_WRONG for another key) into out (default: in place). */
export declare function decrypt(path: string | URL, key: Uint8Array, out?: string | URL): string;
/** Version of the loaded libmle, e.g. "0.1.0". */
export declare function version(): string;
/** ABI version of the loaded libmle (equals ABI_VERSION, checked at require time). */
export declare function abiVersion(): number;
/** The longest string element a run takes, in bytes of UTF-8: MLE_MAX_STRING_BYTES (1 MiB). */
export declare const MAX_STRING_BYTES: number;
/** Name of a status code, e.g. "MLE_ERR_FORMAT_BAD_MAGIC"; "MLE_ERR_UNKNOWN" for unknown codes. */
export declare function statusString(status: number): string;
/** The dtype names. */
export declare const dtypes: readonly DType[];
// BEGIN GENERATED: abi version (cmd/mle-gentables) - do not edit
/** The libmle ABI this package speaks (MLE_ABI_VERSION). */
export declare const ABI_VERSION: 1;
// END GENERATED: abi version
