// A repeated idempotency key returns the same id and creates nothing: one
// row, whether the repeat comes in a later SUBMIT or later in the same batch.
#include "tests/integration/integration_test.h"

namespace sluice::testing {
namespace {

class IdempotencyTest : public IntegrationTest {};

TEST_F(IdempotencyTest, RepeatedKeyReturnsSameIdAndCreatesNothing) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());  // no worker: jobs stay queued

  proto::JobSpec spec = Spec("test.noop");
  spec.key = "nightly-2024-05-01";
  std::vector<proto::SubmittedJob> first, second, batch;
  Answer a = client().Submit({spec}, &first);
  ASSERT_TRUE(a.ok()) << a.Describe();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(first[0].created);

  a = client().Submit({spec}, &second);
  ASSERT_TRUE(a.ok()) << a.Describe();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].id, first[0].id);
  EXPECT_FALSE(second[0].created) << "a repeated key must not create a job";

  // In one batch: a new key twice, the old key once more, and a keyless job.
  proto::JobSpec other = Spec("test.noop");
  other.key = "other-key";
  proto::JobSpec plain = Spec("test.noop");
  a = client().Submit({other, other, spec, plain}, &batch);
  ASSERT_TRUE(a.ok()) << a.Describe();
  ASSERT_EQ(batch.size(), 4u);
  EXPECT_TRUE(batch[0].created);
  EXPECT_FALSE(batch[1].created);
  EXPECT_EQ(batch[1].id, batch[0].id);
  EXPECT_FALSE(batch[2].created);
  EXPECT_EQ(batch[2].id, first[0].id);
  EXPECT_TRUE(batch[3].created);
  EXPECT_NE(batch[3].id, batch[0].id);
  EXPECT_NE(batch[3].id, first[0].id);

  StateDb db(cluster_.state_path());
  ASSERT_TRUE(db.ok()) << db.error();
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM jobs WHERE idem_key = 'nightly-2024-05-01'"), 1);
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM jobs WHERE idem_key = 'other-key'"), 1);
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM jobs"), 3);

  // STATUS shows the key.
  json job = client().Job(first[0].id);
  ASSERT_TRUE(job.is_object());
  EXPECT_EQ(job.value("key", json()), "nightly-2024-05-01") << job.dump();
}

}  // namespace
}  // namespace sluice::testing
