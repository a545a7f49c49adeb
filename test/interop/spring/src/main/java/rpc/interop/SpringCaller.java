package rpc.interop;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.springframework.kafka.core.DefaultKafkaConsumerFactory;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.listener.ContainerProperties;
import org.springframework.kafka.listener.KafkaMessageListenerContainer;
import org.springframework.kafka.requestreply.CorrelationKey;
import org.springframework.kafka.requestreply.ReplyingKafkaTemplate;
import org.springframework.kafka.support.TopicPartitionOffset;

/**
 * An unchanged Spring Kafka {@link ReplyingKafkaTemplate} caller. Sends every stdin line as one request
 * value to the request topic, all in flight at once, then prints one JSON line per request (in input
 * order) with the reply or the exception, and a last line {@code {"done":true}}.
 *
 * <p>Arguments: {@code <brokers> <requestTopic> <replyTopic> <mode> <correlation> <timeoutMs> <groupId>};
 * mode {@code group} subscribes to the reply topic (Spring then sends no {@code kafka_replyPartition}),
 * {@code partition:<n>} assigns partition n of it (Spring sends n as a 4-byte int); correlation {@code uuid}
 * is Spring's default (16 raw UUID bytes), {@code binary} makes every id start with bytes that are not UTF-8.
 */
public final class SpringCaller {
  public static void main(String[] args) throws Exception {
    String brokers = args[0], requestTopic = args[1], replyTopic = args[2], mode = args[3], correlation = args[4];
    Duration timeout = Duration.ofMillis(Long.parseLong(args[5]));
    String groupId = args[6];
    List<String> values = new ArrayList<>();
    try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      for (String line; (line = in.readLine()) != null; ) values.add(line);
    }

    Map<String, Object> producerProps = new HashMap<>();
    producerProps.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    producerProps.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    producerProps.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    Map<String, Object> consumerProps = new HashMap<>();
    consumerProps.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    consumerProps.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
    consumerProps.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"); // a fresh reply topic per run: nothing old to skip
    consumerProps.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    consumerProps.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);

    ContainerProperties containerProps =
        mode.startsWith("partition:")
            ? new ContainerProperties(new TopicPartitionOffset(replyTopic, Integer.parseInt(mode.substring(10))))
            : new ContainerProperties(replyTopic);
    KafkaMessageListenerContainer<String, String> replies =
        new KafkaMessageListenerContainer<>(new DefaultKafkaConsumerFactory<>(consumerProps), containerProps);
    ReplyingKafkaTemplate<String, String, String> template =
        new ReplyingKafkaTemplate<>(new DefaultKafkaProducerFactory<>(producerProps), replies);
    template.setDefaultReplyTimeout(timeout);
    // the server's error header turns a reply into an exception, as a Spring service's error handler would
    template.setReplyErrorChecker(
        record -> {
          Header error = record.headers().lastHeader("kafka_nest-err");
          return error == null ? null : new IllegalStateException(new String(error.value(), StandardCharsets.UTF_8));
        });
    if (correlation.equals("binary")) {
      AtomicLong next = new AtomicLong();
      template.setCorrelationIdStrategy(
          record -> new CorrelationKey(ByteBuffer.allocate(10).put((byte) 0xff).put((byte) 0xfe).putLong(next.incrementAndGet()).array()));
    }
    template.start();
    try {
      if (!template.waitForAssignment(Duration.ofSeconds(30))) throw new IllegalStateException("reply topic not assigned");
      List<CompletableFuture<ConsumerRecord<String, String>>> futures = new ArrayList<>();
      for (String value : values) futures.add(template.sendAndReceive(new ProducerRecord<>(requestTopic, value)));
      for (int i = 0; i < futures.size(); i++) {
        StringBuilder line = new StringBuilder("{\"i\":").append(i);
        try {
          ConsumerRecord<String, String> reply = futures.get(i).get();
          Header id = reply.headers().lastHeader("kafka_correlationId");
          line.append(",\"value\":").append(json(reply.value()))
              .append(",\"partition\":").append(reply.partition())
              .append(",\"correlationId\":").append(json(id == null ? null : HexFormat.of().formatHex(id.value())));
        } catch (ExecutionException e) {
          Throwable cause = e.getCause();
          line.append(",\"error\":").append(json(cause.getClass().getSimpleName()))
              .append(",\"message\":").append(json(String.valueOf(cause.getMessage())));
        }
        System.out.println(line.append('}'));
      }
      System.out.println("{\"done\":true}");
    } finally {
      template.stop();
      template.destroy();
    }
  }

  private static String json(String text) {
    if (text == null) return "null";
    StringBuilder out = new StringBuilder("\"");
    for (char c : text.toCharArray()) {
      if (c == '"' || c == '\\') out.append('\\').append(c);
      else if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
      else out.append(c);
    }
    return out.append('"').toString();
  }
}
