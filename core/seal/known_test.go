package seal

// Known answers computed independently with openssl 3:
//
//	openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt hexkey:<32×11> \
//	    -kdfopt hexsalt:000102…1f -kdfopt "info:MLE AES-256-GCM payload v1" HKDF
//	printf 'MLE key check v1' | openssl mac -digest SHA256 -macopt hexkey:<payload key> HMAC
const (
	knownPayloadKey = "090d11fdc7e954394d5579eb8a9d7740aeb3edc5ff0ecc5aab3007da4f0b4201"
	knownKeyCheck   = "7f582028cc7713cb7d3bbc4c17978c90"
)
