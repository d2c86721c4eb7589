// KafkaReady: readiness probe used by scripts/kafka.sh.
//
// It exits 0 once the Kafka cluster behind --bootstrap really serves requests:
// the cluster metadata lists at least --brokers live brokers (and --node, if
// given), a probe topic with replication factor --brokers can be created and
// gets a leader and a full ISR, and is deleted again. With --wait-isr it also
// waits until every partition of every topic has its full ISR back (used after
// a node restart, so that the next fault a test injects meets a healthy
// cluster). With --groups it makes the brokers create __consumer_offsets. It
// exits 1 with the last error once --timeout seconds have passed.
//
// Compiled by kafka.sh against the fetched kafka-clients jar; not a test.
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.GroupIdNotFoundException;

public final class KafkaReady {
    private static String bootstrap = "127.0.0.1:19092";
    private static int brokers = 1;
    private static int node = -1;
    private static long timeoutMs = 60_000;
    private static boolean waitIsr = false;
    private static boolean groups = false;
    private static long deadline;

    public static void main(String[] args) throws Exception {
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--bootstrap": bootstrap = args[++i]; break;
                case "--brokers": brokers = Integer.parseInt(args[++i]); break;
                case "--node": node = Integer.parseInt(args[++i]); break;
                case "--timeout": timeoutMs = (long) (Double.parseDouble(args[++i]) * 1000); break;
                case "--wait-isr": waitIsr = true; break;
                case "--groups": groups = true; break;
                default:
                    System.err.println("KafkaReady: unknown argument " + args[i]);
                    System.exit(2);
            }
        }
        long start = System.nanoTime();
        deadline = start + TimeUnit.MILLISECONDS.toNanos(timeoutMs);

        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, "kafka.sh-ready");
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "3000");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
        props.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, "100");
        props.put(AdminClientConfig.RECONNECT_BACKOFF_MS_CONFIG, "100");
        props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");

        String stage = "connecting";
        Exception last = null;
        try (Admin admin = Admin.create(props)) {
            boolean probed = false;
            while (System.nanoTime() < deadline) {
                try {
                    stage = "describing the cluster";
                    DescribeClusterResult dc = admin.describeCluster();
                    List<Integer> ids = new ArrayList<>();
                    for (Node n : dc.nodes().get(5, TimeUnit.SECONDS)) {
                        ids.add(n.id());
                    }
                    Collections.sort(ids);
                    if (ids.size() < brokers || (node >= 0 && !ids.contains(node))) {
                        throw new IllegalStateException("live brokers " + ids + ", want " + brokers
                                + (node >= 0 ? " including node " + node : ""));
                    }
                    if (!probed) {
                        probeTopic(admin);
                        probed = true;
                    }
                    if (groups) {
                        // Looking up a group's coordinator creates __consumer_offsets:
                        // done now, while all nodes run, the first consumer group of a
                        // test does not wait for it (nor fail when a node is down).
                        stage = "creating __consumer_offsets";
                        try {
                            admin.describeConsumerGroups(List.of("kafka.sh-ready")).all().get(10, TimeUnit.SECONDS);
                        } catch (ExecutionException e) {
                            // Kafka 4 answers "no such group" once the coordinator is up.
                            if (!(e.getCause() instanceof GroupIdNotFoundException)) {
                                throw e;
                            }
                        }
                        groups = false;
                    }
                    if (waitIsr) {
                        stage = "waiting for full ISRs";
                        checkIsr(admin);
                    }
                    double secs = (System.nanoTime() - start) / 1e9;
                    System.out.printf("KafkaReady: %s ready after %.1fs: brokers %s, controller %s%n",
                            bootstrap, secs, ids, dc.controller().get(5, TimeUnit.SECONDS).id());
                    return;
                } catch (Exception e) {
                    last = e;
                    Thread.sleep(200);
                }
            }
        }
        System.err.println("KafkaReady: " + bootstrap + " not ready after " + timeoutMs / 1000.0
                + "s (stage: " + stage + "): " + describe(last));
        System.exit(1);
    }

    // probeTopic creates a topic with replication factor `brokers`, waits until
    // its partition has a leader and full ISR, and deletes it again.
    private static void probeTopic(Admin admin) throws Exception {
        String topic = "_kafka_sh_ready_" + Long.toHexString(System.nanoTime());
        admin.createTopics(List.of(new NewTopic(topic, 1, (short) brokers))).all().get(10, TimeUnit.SECONDS);
        try {
            while (System.nanoTime() < deadline) {
                try {
                    TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames()
                            .get(5, TimeUnit.SECONDS).get(topic);
                    TopicPartitionInfo p = d.partitions().get(0);
                    if (p.leader() != null && !p.leader().isEmpty() && p.isr().size() == brokers) {
                        return;
                    }
                } catch (ExecutionException e) {
                    // UnknownTopicOrPartition until metadata has propagated.
                }
                Thread.sleep(100);
            }
            throw new IllegalStateException("probe topic " + topic + " got no leader with full ISR");
        } finally {
            admin.deleteTopics(List.of(topic)).all().get(10, TimeUnit.SECONDS);
        }
    }

    private static void checkIsr(Admin admin) throws Exception {
        Set<String> names = admin.listTopics(new ListTopicsOptions().listInternal(true)).names()
                .get(5, TimeUnit.SECONDS);
        if (names.isEmpty()) {
            return;
        }
        Map<String, TopicDescription> ds = admin.describeTopics(names).allTopicNames().get(10, TimeUnit.SECONDS);
        for (TopicDescription d : ds.values()) {
            for (TopicPartitionInfo p : d.partitions()) {
                if (p.leader() == null || p.leader().isEmpty() || p.isr().size() < p.replicas().size()) {
                    throw new IllegalStateException("partition " + d.name() + "-" + p.partition()
                            + " has leader " + p.leader() + ", isr " + p.isr().size() + "/" + p.replicas().size());
                }
            }
        }
    }

    private static String describe(Throwable e) {
        if (e == null) {
            return "timed out";
        }
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (sb.length() > 0) {
                sb.append(": ");
            }
            sb.append(t.getClass().getSimpleName()).append(' ').append(t.getMessage());
            if (t.getCause() == t) {
                break;
            }
        }
        return sb.toString();
    }
}
