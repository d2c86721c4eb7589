package bench;

import java.io.BufferedWriter;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

/**
 * The Kafka Streams side of bench/: counts the messages per key of the input
 * topic (groupByKey().count(), a RocksDB store, Kafka Streams' defaults but
 * for the processing guarantee) and reports, as one JSON line on stdout, the
 * seconds from the first input record to the last one processed and to the
 * input offsets committed, and the time from JVM start to the first record.
 * It then dumps its store ("key count" lines) for the Go harness to check.
 *
 * <p>Usage: CountBench BROKERS INPUT APP_ID GUARANTEE N STATE_DIR DUMP_FILE
 */
public final class CountBench {
    private static final String STORE = "counts";

    public static void main(String[] args) throws Exception {
        if (args.length != 7) {
            System.err.println("usage: CountBench BROKERS INPUT APP_ID GUARANTEE N STATE_DIR DUMP_FILE");
            System.exit(2);
        }
        String brokers = args[0], input = args[1], appId = args[2], guarantee = args[3];
        long n = Long.parseLong(args[4]);
        String stateDir = args[5];
        Path dump = Path.of(args[6]);

        long jvmStart = ManagementFactory.getRuntimeMXBean().getStartTime();
        AtomicLong processed = new AtomicLong();
        AtomicLong firstNanos = new AtomicLong();
        AtomicLong lastNanos = new AtomicLong();

        StreamsBuilder builder = new StreamsBuilder();
        builder.stream(input, Consumed.with(Serdes.String(), Serdes.ByteArray()))
            .peek((k, v) -> {
                long c = processed.incrementAndGet();
                if (c == 1) {
                    firstNanos.set(System.nanoTime());
                    firstWall = System.currentTimeMillis();
                }
                if (c == n) {
                    lastNanos.set(System.nanoTime());
                }
            })
            .groupByKey()
            .count(Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as(STORE)
                .withKeySerde(Serdes.String()).withValueSerde(Serdes.Long()));

        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
        // The bench broker is a single node.
        props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);

        Properties adminProps = new Properties();
        adminProps.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);

        try (KafkaStreams streams = new KafkaStreams(builder.build(), props);
             Admin admin = Admin.create(adminProps)) {
            streams.start();
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(30);
            while (lastNanos.get() == 0) {
                check(streams, deadline);
                Thread.sleep(5);
            }
            Map<TopicPartition, Long> ends = endOffsets(admin, input);
            long want = ends.values().stream().mapToLong(Long::longValue).sum();
            long committedNanos;
            while (true) {
                check(streams, deadline);
                if (committed(admin, appId) >= want) {
                    committedNanos = System.nanoTime();
                    break;
                }
                Thread.sleep(10);
            }
            ReadOnlyKeyValueStore<String, Long> store = streams.store(
                StoreQueryParameters.fromNameAndType(STORE, QueryableStoreTypes.keyValueStore()));
            long keys = 0;
            try (BufferedWriter w = Files.newBufferedWriter(dump, StandardCharsets.UTF_8);
                 KeyValueIterator<String, Long> it = store.all()) {
                while (it.hasNext()) {
                    KeyValue<String, Long> kv = it.next();
                    w.write(kv.key + " " + kv.value + "\n");
                    keys++;
                }
            }
            double processedS = (lastNanos.get() - firstNanos.get()) / 1e9;
            double committedS = (committedNanos - firstNanos.get()) / 1e9;
            System.out.printf("{\"messages\":%d,\"seconds\":%.6f,\"committed_seconds\":%.6f,\"first_message_ms\":%d,\"keys\":%d}%n",
                n, processedS, committedS, firstWall - jvmStart, keys);
            System.out.flush();
            streams.close();
        }
    }

    private static volatile long firstWall;

    private static void check(KafkaStreams streams, long deadline) {
        KafkaStreams.State s = streams.state();
        if (s == KafkaStreams.State.ERROR || s == KafkaStreams.State.PENDING_ERROR || s == KafkaStreams.State.NOT_RUNNING) {
            throw new IllegalStateException("kafka streams is " + s);
        }
        if (System.nanoTime() > deadline) {
            throw new IllegalStateException("timed out");
        }
    }

    private static Map<TopicPartition, Long> endOffsets(Admin admin, String topic) throws Exception {
        Set<TopicPartition> parts = new java.util.HashSet<>();
        admin.describeTopics(java.util.List.of(topic)).allTopicNames().get().get(topic).partitions()
            .forEach(p -> parts.add(new TopicPartition(topic, p.partition())));
        Map<TopicPartition, OffsetSpec> req = new HashMap<>();
        parts.forEach(tp -> req.put(tp, OffsetSpec.latest()));
        Map<TopicPartition, Long> out = new HashMap<>();
        admin.listOffsets(req).all().get().forEach((tp, info) -> out.put(tp, info.offset()));
        return out;
    }

    private static long committed(Admin admin, String group) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> offs = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
        long sum = 0;
        for (OffsetAndMetadata o : offs.values()) {
            if (o != null) {
                sum += o.offset();
            }
        }
        return sum;
    }
}
