// test_trust_hpp: signed and encrypted models through the C++ wrapper —
// keygen, sign_file, encrypt_file, decrypt_file, and Model::open /
// open_memory with TrustOptions, with the exact status of every refusal.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <vector>

#include "mle.hpp"
#include "testutil.h"

namespace {

std::string kDir;  // scratch directory of this run

const std::vector<uint8_t> kKey(32, 0x5a);
const std::vector<uint8_t> kOtherKey(32, 0xa5);

std::string path(const char *name) { return kDir + "/" + name; }

std::vector<uint8_t> read_all(const std::string &p) { return mle::read_key_file(p); }

// The test MLP of tests/c/testutil.c, saved at p.
void save_mlp(const std::string &p) {
    mle_error *err = nullptr;
    mle_status st = mlp_save(p.c_str(), nullptr, &err);
    mle::detail::check(st, err);
}

std::vector<float> kX;

std::vector<mle::Tensor> run(const mle::Model &m) {
    return m.run({mle::TensorView(kX.data(), {static_cast<int64_t>(kX.size() / MLP_IN), MLP_IN})});
}

// Outputs equal the plain model's, byte for byte.
void check_same(const std::vector<mle::Tensor> &got, const std::vector<mle::Tensor> &want, const char *what) {
    CHECKF(got.size() == want.size(), "%s: %zu outputs", what, got.size());
    for (size_t i = 0; i < got.size() && i < want.size(); i++) {
        CHECKF(got[i].name() == want[i].name() && got[i].shape() == want[i].shape(), "%s: output %zu", what, i);
        CHECKF(got[i].nbytes() == want[i].nbytes() && std::memcmp(got[i].raw(), want[i].raw(), got[i].nbytes()) == 0,
               "%s: output %zu bytes differ", what, i);
    }
}

// Runs fn, which must throw mle::Error with status want.
template <class Fn> void expect_error(Fn fn, mle_status want, const char *what) {
    try {
        fn();
        tu_fail(__FILE__, __LINE__, "%s: no exception, want %s", what, mle::status_string(want));
    } catch (const mle::Error &e) {
        CHECKF(e.status() == want, "%s: status %s (%s), want %s", what, mle::status_string(e.status()), e.what(),
               mle::status_string(want));
        CHECKF(e.primary() == MLE_STATUS_PRIMARY(want), "%s: primary %u", what, e.primary());
    }
}

void test_keygen() {
    mle::KeyPair kp = mle::keygen(path("k"));
    CHECK(kp.private_key_path == path("k.key") && kp.public_key_path == path("k.pub"));
    std::vector<uint8_t> priv = read_all(kp.private_key_path), pub = read_all(kp.public_key_path);
    CHECK(std::string(priv.begin(), priv.end()).find("-----BEGIN PRIVATE KEY-----") != std::string::npos);
    CHECK(std::string(pub.begin(), pub.end()).find("-----BEGIN PUBLIC KEY-----") != std::string::npos);
    struct stat sb;
    CHECK(stat(kp.private_key_path.c_str(), &sb) == 0 && (sb.st_mode & 0777) == 0600);
    bool threw = false;
    try {
        mle::keygen(path("k"));  // an existing private key is never replaced
    } catch (const mle::Error &) {
        threw = true;
    }
    CHECK(threw);
    expect_error([] { mle::read_key_file(path("missing.pub")); }, MLE_ERR_IO_OPEN, "read_key_file missing");
}

void test_signed(const std::string &plain, const std::vector<mle::Tensor> &want) {
    mle::KeyPair signer = mle::keygen(path("signer")), other = mle::keygen(path("other"));
    const std::string signed_path = path("signed.mle");
    mle::sign_file(plain, signed_path, read_all(signer.private_key_path));

    mle::TrustOptions trust;
    trust.with_trusted_key(read_all(signer.public_key_path)).with_require_signature();
    check_same(run(mle::Model::open(signed_path, {}, trust)), want, "signed, trusted");
    mle::OpenOptions verify;
    verify.verify = true;
    check_same(run(mle::Model::open(signed_path, verify, trust)), want, "signed, trusted, verify");
    std::vector<uint8_t> bytes = read_all(signed_path);
    check_same(run(mle::Model::open_memory(bytes, {}, trust)), want, "signed from memory");
    // PEM text, and one trusted key among others.
    std::vector<uint8_t> pem = read_all(signer.public_key_path);
    mle::TrustOptions either;
    either.with_trusted_key(read_all(other.public_key_path))
        .with_trusted_key(std::string_view(reinterpret_cast<const char *>(pem.data()), pem.size()))
        .with_require_signature();
    check_same(run(mle::Model::open(signed_path, {}, either)), want, "one of two trusted keys");

    mle::TrustOptions untrusted;
    untrusted.with_trusted_key(read_all(other.public_key_path));
    expect_error([&] { mle::Model::open(signed_path, {}, untrusted); }, MLE_ERR_SIGNATURE_UNTRUSTED, "untrusted");
    expect_error([&] { mle::Model::open_memory(bytes, {}, untrusted); }, MLE_ERR_SIGNATURE_UNTRUSTED,
                 "untrusted from memory");
    expect_error([&] { mle::Model::open(plain, {}, trust); }, MLE_ERR_SIGNATURE_REQUIRED, "unsigned, required");
    // An unsigned file opens with trusted keys when no signature is required.
    check_same(run(mle::Model::open(plain, {}, untrusted)), want, "unsigned, not required");
    mle::TrustOptions no_keys;
    no_keys.require_signature = true;
    expect_error([&] { mle::Model::open(signed_path, {}, no_keys); }, MLE_ERR_INVALID_OPTIONS,
                 "required without keys");
    mle::TrustOptions junk;
    junk.with_trusted_key(std::string_view("not a key"));
    expect_error([&] { mle::Model::open(signed_path, {}, junk); }, MLE_ERR_KEY_INVALID, "junk trusted key");

    // Signing in place.
    const std::string in_place = path("in-place.mle");
    save_mlp(in_place);
    mle::sign_file(in_place, "", read_all(signer.private_key_path));
    check_same(run(mle::Model::open(in_place, {}, trust)), want, "signed in place");
}

void test_encrypted(const std::string &plain, const std::vector<mle::Tensor> &want) {
    const std::string enc = path("enc.mle");
    mle::encrypt_file(plain, enc, kKey);

    expect_error([&] { mle::Model::open(enc); }, MLE_ERR_KEY_REQUIRED, "no key");
    expect_error([&] { mle::Model::open(enc, {}, mle::TrustOptions{}); }, MLE_ERR_KEY_REQUIRED, "empty trust");
    mle::TrustOptions wrong, short_key, right;
    wrong.with_key(kOtherKey);
    short_key.with_key(kKey.data(), 31);
    right.with_key(kKey);
    expect_error([&] { mle::Model::open(enc, {}, wrong); }, MLE_ERR_KEY_WRONG, "wrong key");
    expect_error([&] { mle::Model::open(enc, {}, short_key); }, MLE_ERR_KEY_INVALID, "31-byte key");
    check_same(run(mle::Model::open(enc, {}, right)), want, "right key");
    mle::OpenOptions read_all_opts;
    read_all_opts.read_all = true;
    check_same(run(mle::Model::open(enc, read_all_opts, right)), want, "right key, read_all");

    std::vector<uint8_t> bytes = read_all(enc);
    expect_error([&] { mle::Model::open_memory(bytes); }, MLE_ERR_KEY_REQUIRED, "memory, no key");
    expect_error([&] { mle::Model::open_memory(bytes, {}, wrong); }, MLE_ERR_KEY_WRONG, "memory, wrong key");
    check_same(run(mle::Model::open_memory(bytes, {}, right)), want, "memory, right key");

    // Copies and moves keep the key.
    mle::TrustOptions copy = right, moved = std::move(copy);
    check_same(run(mle::Model::open(enc, {}, moved)), want, "moved trust options");

    const std::string dec = path("dec.mle");
    expect_error([&] { mle::decrypt_file(enc, dec, kOtherKey); }, MLE_ERR_KEY_WRONG, "decrypt, wrong key");
    mle::decrypt_file(enc, dec, kKey);
    check_same(run(mle::Model::open(dec)), want, "decrypted");
    mle::encrypt_file(dec, "", kKey);  // in place, both ways
    expect_error([&] { mle::Model::open(dec); }, MLE_ERR_KEY_REQUIRED, "encrypted in place");
    mle::decrypt_file(dec, "", kKey.data(), kKey.size());
    check_same(run(mle::Model::open(dec)), want, "decrypted in place");
    expect_error([&] { mle::encrypt_file(plain, path("x.mle"), kKey.data(), 31); }, MLE_ERR_KEY_INVALID,
                 "encrypt, 31-byte key");
}

void test_signed_then_encrypted(const std::string &plain, const std::vector<mle::Tensor> &want) {
    mle::KeyPair signer = mle::keygen(path("both")), other = mle::keygen(path("both-other"));
    const std::string file = path("both.mle");
    mle::sign_file(plain, file, read_all(signer.private_key_path));
    mle::encrypt_file(file, "", kKey);

    mle::TrustOptions all;
    all.with_key(kKey).with_trusted_key(read_all(signer.public_key_path)).with_require_signature();
    check_same(run(mle::Model::open(file, {}, all)), want, "signed and encrypted");
    mle::TrustOptions keyless;
    keyless.with_trusted_key(read_all(signer.public_key_path));
    expect_error([&] { mle::Model::open(file, {}, keyless); }, MLE_ERR_KEY_REQUIRED, "signed+encrypted, no key");
    mle::TrustOptions wrong_signer;
    wrong_signer.with_key(kKey).with_trusted_key(read_all(other.public_key_path)).with_require_signature();
    expect_error([&] { mle::Model::open(file, {}, wrong_signer); }, MLE_ERR_SIGNATURE_UNTRUSTED,
                 "signed+encrypted, other signer");
    // Encrypted files are refused for signing: sign first, then encrypt.
    bool threw = false;
    try {
        mle::sign_file(file, path("again.mle"), read_all(signer.private_key_path));
    } catch (const mle::Error &) {
        threw = true;
    }
    CHECK(threw);
}

}  // namespace

int main() {
    char *dir = tu_tempdir("test_trust_hpp");
    kDir = dir;
    kX.resize(5 * MLP_IN);
    mlp_make_input(kX.data(), 5, 7);
    try {
        const std::string plain = path("plain.mle");
        save_mlp(plain);
        std::vector<mle::Tensor> want = run(mle::Model::open(plain));
        // The plain outputs are the C reference's (so equal outputs below are right ones).
        std::vector<float> ref(5 * MLP_OUT);
        mlp_reference(kX.data(), 5, ref.data(), nullptr);
        std::vector<float> probs = want[0].to_vector<float>();
        for (size_t i = 0; i < ref.size(); i++) CHECKF(std::fabs(probs[i] - ref[i]) <= 1e-5f, "probs[%zu]", i);
        test_keygen();
        test_signed(plain, want);
        test_encrypted(plain, want);
        test_signed_then_encrypted(plain, want);
    } catch (const std::exception &e) {
        tu_fail(__FILE__, __LINE__, "unexpected exception: %s", e.what());
    }
    int rc = tu_finish("test_trust_hpp");
    if (rc == 0) tu_rmdir(dir);
    std::free(dir);
    return rc;
}
