// SigV4 against the example requests published in AWS's documentation (S3 "Signature
// Calculations for the Authorization Header" examples and the general SigV4 IAM example).
#include <gtest/gtest.h>

#include "net/aws_sigv4.h"
#include "plugins/common/s3/s3_client.h"

namespace sluice::net {
namespace {

const AwsCredentials kS3Example{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
const std::string kEmptySha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(SigV4, Sha256AndHmacKnownValues) {
  EXPECT_EQ(sha256_hex(""), kEmptySha);
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(SigV4, AwsS3GetObjectExample) {
  SigV4Request r;
  r.method = "GET";
  r.canonical_uri = "/test.txt";
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Range", "bytes=0-9"},
               {"x-amz-content-sha256", kEmptySha},
               {"x-amz-date", "20130524T000000Z"}};
  r.payload_hash = kEmptySha;
  r.region = "us-east-1";
  SigV4Result s = sigv4_sign(r, kS3Example);
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4, AwsS3PutObjectExample) {
  std::string body = "Welcome to Amazon S3.";
  SigV4Request r;
  r.method = "PUT";
  r.canonical_uri = "/test%24file.text";
  r.payload_hash = sha256_hex(body);
  EXPECT_EQ(r.payload_hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
               {"x-amz-date", "20130524T000000Z"},
               {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
               {"x-amz-content-sha256", r.payload_hash}};
  r.region = "us-east-1";
  SigV4Result s = sigv4_sign(r, kS3Example);
  EXPECT_NE(s.authorization.find("SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"),
            std::string::npos);
  EXPECT_TRUE(s.authorization.ends_with("Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"))
      << s.authorization;
}

TEST(SigV4, AwsS3ListObjectsExampleSortsAndEncodesQuery) {
  SigV4Request r;
  r.method = "GET";
  r.canonical_uri = "/";
  r.query = {{"prefix", "J"}, {"max-keys", "2"}};  // out of order on purpose
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"x-amz-date", "20130524T000000Z"},
               {"x-amz-content-sha256", kEmptySha}};
  r.payload_hash = kEmptySha;
  r.region = "us-east-1";
  SigV4Result s = sigv4_sign(r, kS3Example);
  EXPECT_NE(s.canonical_request.find("\nmax-keys=2&prefix=J\n"), std::string::npos);
  EXPECT_TRUE(s.authorization.ends_with("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"))
      << s.authorization;
}

TEST(SigV4, AwsIamGeneralExample) {
  SigV4Request r;
  r.method = "GET";
  r.canonical_uri = "/";
  r.query = {{"Action", "ListUsers"}, {"Version", "2010-05-08"}};
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
               {"Host", "iam.amazonaws.com"},
               {"X-Amz-Date", "20150830T123600Z"}};
  r.payload_hash = kEmptySha;
  r.region = "us-east-1";
  r.service = "iam";
  SigV4Result s = sigv4_sign(r, {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""});
  EXPECT_EQ(sha256_hex(s.canonical_request), "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  EXPECT_TRUE(s.authorization.ends_with("Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"))
      << s.authorization;
}

TEST(SigV4, HeaderValuesAreTrimmedAndRepeatedNamesJoined) {
  SigV4Request r;
  r.method = "GET";
  r.canonical_uri = "/";
  r.headers = {{"Host", "h"}, {"x-amz-date", "20150830T123600Z"}, {"My-Header1", "  a   b  "}, {"my-header1", "c"}};
  r.payload_hash = std::string(kUnsignedPayload);
  r.region = "us-east-1";
  SigV4Result s = sigv4_sign(r, kS3Example);
  EXPECT_NE(s.canonical_request.find("my-header1:a b,c\n"), std::string::npos) << s.canonical_request;
  EXPECT_TRUE(s.canonical_request.ends_with("\nUNSIGNED-PAYLOAD"));
}

TEST(SigV4, MissingDateIsAnError) {
  SigV4Request r;
  r.method = "GET";
  r.headers = {{"Host", "h"}};
  EXPECT_THROW(sigv4_sign(r, kS3Example), std::invalid_argument);
}

TEST(SigV4, CanonicalQueryEncodesReservedCharacters) {
  EXPECT_EQ(canonical_query_string({{"prefix", "a b/c"}, {"list-type", "2"}, {"uploads", ""}}),
            "list-type=2&prefix=a%20b%2Fc&uploads=");
}

TEST(S3Xml, ValuesEntitiesAndBlocks) {
  std::string xml =
      "<ListBucketResult><KeyCount>2</KeyCount><IsTruncated>true</IsTruncated>"
      "<Contents><Key>a&amp;b</Key><Size>3</Size><LastModified>2024-01-02T03:04:05.000Z</LastModified></Contents>"
      "<Contents><Key>c&#x263A;</Key><Size>4</Size></Contents>"
      "<NextContinuationToken>tok&lt;</NextContinuationToken></ListBucketResult>";
  std::vector<std::string> keys;
  s3::xml_each(xml, "Contents", [&](std::string_view block) { keys.push_back(s3::xml_value(block, "Key").value()); });
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0], "a&b");
  EXPECT_EQ(keys[1], "c\xE2\x98\xBA");
  EXPECT_EQ(s3::xml_value(xml, "NextContinuationToken").value(), "tok<");
  EXPECT_EQ(s3::xml_value(xml, "Key").value(), "a&b");  // <KeyCount> is not <Key>
  EXPECT_EQ(s3::parse_s3_time("2024-01-02T03:04:05.000Z"), 1704164645);
  EXPECT_EQ(s3::parse_s3_time("Tue, 02 Jan 2024 03:04:05 GMT"), 1704164645);
  EXPECT_EQ(s3::parse_s3_time("nonsense"), 0);
}

}  // namespace
}  // namespace sluice::net
