package sign

// Key files written by openssl 3 (`openssl genpkey`, `openssl pkey -pubout`),
// for tests only: none of them protects anything.

const opensslPriv = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIIAq0Ap9aGwmDNU0NRAe2+06o6ng9EYBxTQbVCnAJEwd
-----END PRIVATE KEY-----
`

const opensslPub = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAkMKOsBonWTudFd+gjjGhpDDpsDQszweUrGUmElwdW6I=
-----END PUBLIC KEY-----
`

const rsaPriv = `-----BEGIN PRIVATE KEY-----
MIICdQIBADANBgkqhkiG9w0BAQEFAASCAl8wggJbAgEAAoGBAKcmWIxufl1dXH5x
x/ddSqqb9G3RstL0oUKcYb0qDSPBzqOutPFG7oMBAEyNV34nTWLb8WiWxZMtR2wG
2xO1hdFSOl9IgbTJeRHG+SUJdx2gaErIYEI0nmRQPk2uQDhCszLf8EyJs1sUuhwz
UmuVl6H3Ill8HeZ/P5Q+MEvw6UYlAgMBAAECgYA8ZcW/ULnGgNLIOdL41jQBvAKx
oAFO6uhOSnWixcwjrIc/bASj3m6W1cjG4JfJ1OfInhL4KOrRiJ3zMfL9hy0H5SFa
AvEp2H7UbV8pK1IDCHdZ1GMDGEc/x76ZzwZx2x7GEl/BVaig2yOAc7I3W2NPgIac
6y6zLqAOR/ESeIsq7QJBAN4E78bK4RpM7QlQRf4WILRCvTYelYk60vYbIMngBieQ
UL+C8hnfp/+hOZlpjZczD9Hy0Zh2tYq05xImLsVbYRcCQQDAu4lXG9HL0AS9cqmM
s3/lQZ/ScHeheN0RYS11UXkqyy1EkWt1apL3pVv9ENfhHHeNtbF9XqDROMGwqv06
zQAjAkBWG8ALb+BCXReKBzI+S8K/ZysPdGk24jOz8+2RnmuEqLpIrLbNRitYP+Wh
FIkv3UQDf5O++DuM4oDETz7QmJJdAkB9PN+/5OntAJ0z5cBbF4DyHjSWcFKscHdm
hbkeVPThY+lkdwJW6AvcNG2UAk/ljbP6N6jACK+DhNgHzvSCMxf1AkBPKQi98JH3
U3ut04eRyjy+k9DNq/CfrYhKDfXqBdEaq8FziBW7vjiCofFEyCIGs//wcWMcgiJC
Ab2E+3cEaKnk
-----END PRIVATE KEY-----
`

const rsaPub = `-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCnJliMbn5dXVx+ccf3XUqqm/Rt
0bLS9KFCnGG9Kg0jwc6jrrTxRu6DAQBMjVd+J01i2/FolsWTLUdsBtsTtYXRUjpf
SIG0yXkRxvklCXcdoGhKyGBCNJ5kUD5NrkA4QrMy3/BMibNbFLocM1JrlZeh9yJZ
fB3mfz+UPjBL8OlGJQIDAQAB
-----END PUBLIC KEY-----
`

const ecPub = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEK5rhyJGk2aRwPRlk+RXv5VdHYbpS
IKEhV4wamiHsUTw4uU433JKQCjncVCZ07kPzJ0j3zfIrO3632sWkY2a0RA==
-----END PUBLIC KEY-----
`

const x25519Priv = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VuBCIEIOjbpTBeqYChR87FSKHx33HqLR4dSSrSwgqSzmCj7vBb
-----END PRIVATE KEY-----
`

// The known answer of TestKnownAnswer: seed 32 × 0x42, manifest testManifest(2).
const (
	knownKeyID = "3097e2dee2cb4a34"
	knownSig   = "3240fb9401b3dbd9c56e14c57a3fa26c8ac6dbfbac923454cfd06c78df132ac1c14633f54a662a0e041fee35fbd8261737b13d8327ba1934bb3734dcfa180204"
)
