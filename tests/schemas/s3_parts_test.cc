// The S3 client's pure parts: locations, the canonical URL and query that
// libcurl's signer needs, the XML it reads, the configuration from the
// AWS variables.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "schemas/s3_config.h"
#include "schemas/s3_location.h"
#include "schemas/s3_url.h"
#include "schemas/s3_xml.h"

namespace sluice::s3 {
namespace {

TEST(S3Location, ParsesBucketAndPrefix) {
  auto loc = ParseLocation("s3://my-bucket/landing/zone/");
  ASSERT_TRUE(loc.ok()) << loc.status().ToString();
  EXPECT_EQ(loc->bucket, "my-bucket");
  EXPECT_EQ(loc->prefix, "landing/zone");
  EXPECT_EQ(loc->Key("src/2026/12/a.csv.gz"), "landing/zone/src/2026/12/a.csv.gz");
  EXPECT_EQ(loc->Relative("landing/zone/src/a"), "src/a");
  EXPECT_EQ(loc->Relative("landing/zonex/a"), "");
  EXPECT_EQ(loc->ListPrefix(), "landing/zone/");
  EXPECT_EQ(loc->ToString(), "s3://my-bucket/landing/zone");
  EXPECT_EQ(loc->Child("state").ToString(), "s3://my-bucket/landing/zone/state");

  auto bare = ParseLocation("s3://bucket");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->prefix, "");
  EXPECT_EQ(bare->Key("a/b"), "a/b");
  EXPECT_EQ(bare->ListPrefix(), "");
}

TEST(S3Location, RefusesBadNames) {
  for (const char* bad : {"s3://", "s3://ab", "s3://Upper/x", "s3://a..b/x", "s3://-bucket/x", "s3://bucket/a//b",
                          "s3://bucket/../x", "s3://bucket/a/./b", "s3://bucket/a\nb", "/tmp/landing",
                          "s3://bucket/a\\b", "S3://bucket"}) {
    auto loc = ParseLocation(bad);
    EXPECT_FALSE(loc.ok()) << bad;
    if (!loc.ok()) {
      EXPECT_EQ(loc.status().code(), Code::kInvalidArgument);
    }
  }
  EXPECT_FALSE(ParseLocation("s3://bucket/" + std::string(600, 'a')).ok());
  EXPECT_FALSE(ParseLocation("s3://bucket/\xff\xfe").ok());
  EXPECT_TRUE(IsS3Url("s3://x"));
  EXPECT_FALSE(IsS3Url("data/landing"));
}

TEST(S3Url, EncodesKeysAsSigV4Does) {
  EXPECT_EQ(UriEncode("a b+c~d_e.f-g/h", true), "a%20b%2Bc~d_e.f-g/h");
  EXPECT_EQ(UriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(UriEncode("\xc3\xa9=&?", true), "%C3%A9%3D%26%3F");
}

TEST(S3Url, QueryIsSortedAndEveryParameterHasItsEqualsSign) {
  // curl 7.88 signs the query as written: it must already be canonical.
  EXPECT_EQ(CanonicalQuery({{"uploadId", "x/y"}, {"partNumber", "2"}}), "partNumber=2&uploadId=x%2Fy");
  EXPECT_EQ(CanonicalQuery({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(CanonicalQuery({{"prefix", "a b"}, {"list-type", "2"}, {"continuation-token", "t+k="}}),
            "continuation-token=t%2Bk%3D&list-type=2&prefix=a%20b");
  EXPECT_EQ(CanonicalQuery({}), "");
}

TEST(S3Url, PathStyleWithAnEndpointVirtualHostedWithout) {
  Config c;
  c.endpoint = "http://127.0.0.1:9000";
  EXPECT_EQ(ObjectUrl(c, "b1", "k 1/x", "uploads="), "http://127.0.0.1:9000/b1/k%201/x?uploads=");
  EXPECT_EQ(ObjectUrl(c, "b1", "", "list-type=2"), "http://127.0.0.1:9000/b1?list-type=2");
  Config aws;
  aws.region = "eu-west-1";
  EXPECT_EQ(ObjectUrl(aws, "b1", "k", ""), "https://b1.s3.eu-west-1.amazonaws.com/k");
  EXPECT_EQ(ObjectUrl(aws, "b.dot", "k", ""), "https://s3.eu-west-1.amazonaws.com/b.dot/k");
}

TEST(S3Xml, ReadsErrorsAndListings) {
  const std::string err =
      "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code>"
      "<Message>a &amp; b &lt;c&gt; &#233; &#x41; &bogus; &</Message></Error>";
  EXPECT_EQ(xml::Text(err, "Code").value_or(""), "SignatureDoesNotMatch");
  EXPECT_EQ(xml::Text(err, "Message").value_or(""), "a & b <c> \xc3\xa9 A &bogus; &");
  EXPECT_FALSE(xml::Text(err, "Missing").has_value());
  EXPECT_FALSE(xml::Text("<A><Prefix/></A>", "Prefix").has_value());

  const std::string list =
      "<ListBucketResult><Contents><Key>a</Key><Size>1</Size></Contents>"
      "<Contents><Key>b</Key><Size>2</Size></Contents><Contents><Key>c";
  const auto items = xml::Elements(list, "Contents", 10);
  ASSERT_EQ(items.size(), 2u);  // the unterminated third is not an element
  EXPECT_EQ(xml::Text(items[1], "Key").value_or(""), "b");
  EXPECT_EQ(xml::Elements(list, "Contents", 1).size(), 1u);
  EXPECT_EQ(xml::Escape("\"e\"<&>'"), "&quot;e&quot;&lt;&amp;&gt;&apos;");
}

TEST(S3Config, ReadsTheAwsVariables) {
  std::map<std::string, std::string> env = {{"AWS_ACCESS_KEY_ID", "AKID"},
                                            {"AWS_SECRET_ACCESS_KEY", "s3cr3t"},
                                            {"AWS_ENDPOINT_URL", "http://localhost:9000/"}};
  auto get = [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  auto c = ConfigFromEnv(get);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->region, "us-east-1");
  EXPECT_EQ(c->endpoint, "http://localhost:9000");
  EXPECT_TRUE(c->path_style());
  EXPECT_EQ(c->Describe().find("s3cr3t"), std::string::npos);
  EXPECT_NE(c->Describe().find("AKID"), std::string::npos);

  env["AWS_ENDPOINT_URL_S3"] = "https://r2.example:8443";  // the S3-specific one wins
  env["AWS_DEFAULT_REGION"] = "auto";
  c = ConfigFromEnv(get);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->endpoint, "https://r2.example:8443");
  EXPECT_EQ(c->region, "auto");
  env["AWS_REGION"] = "eu-central-1";
  EXPECT_EQ(ConfigFromEnv(get)->region, "eu-central-1");

  env["AWS_ENDPOINT_URL_S3"] = "ftp://x";
  EXPECT_FALSE(ConfigFromEnv(get).ok());
  env["AWS_ENDPOINT_URL_S3"] = "http://host/path?q";
  EXPECT_FALSE(ConfigFromEnv(get).ok());
  env.erase("AWS_ENDPOINT_URL_S3");
  env["AWS_REGION"] = "EU WEST";
  EXPECT_FALSE(ConfigFromEnv(get).ok());
  env["AWS_REGION"] = "eu-west-1";
  env.erase("AWS_SECRET_ACCESS_KEY");
  auto missing = ConfigFromEnv(get);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
  env.erase("AWS_ACCESS_KEY_ID");
  missing = ConfigFromEnv(get);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("AWS_ACCESS_KEY_ID"), std::string::npos);
}

}  // namespace
}  // namespace sluice::s3
